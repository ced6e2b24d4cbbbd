"""Headline figures of the ledger: counts, pnl, profit factor, Sharpe/Sortino/Calmar, max
drawdown. Counts and sums come from SQL (or the exact per-trade series); every ratio from
``performance``, tribar's one metrics module, on freqtrade.data.metrics' conventions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from numpy.typing import NDArray

from tribar.analysis.analytics import performance as perf
from tribar.analysis.analytics.aggregates import aggregate_columns
from tribar.analysis.analytics.equity import check_balance, ordered_pnl
from tribar.analysis.analytics.filters import TradeFilter, or_all, to_utc
from tribar.analysis.analytics.results import LedgerSummary
from tribar.analysis.analytics.sqlfuncs import as_float
from tribar.analysis.analytics.transport import numeric_scale, snapshot
from tribar.analysis.ledger.schema import trades

_T = trades.c


_PNL_SCALE = numeric_scale(_T.net_pnl)


def totals(conn: sa.Connection, flt: TradeFilter) -> dict[str, Any]:
    """Counts and exact NUMERIC sums in the database, in one ungrouped (parallel) scan: the
    fallback when :func:`series_totals` cannot be exact."""
    extra = [
        as_float(sa.func.sum(_T.commission)).label("commission"),
        sa.func.min(_T.timestamp).label("first_close"),
        sa.func.max(_T.timestamp).label("last_close"),
    ]
    stmt = sa.select(*aggregate_columns(), *extra).where(flt.clause())
    return dict(conn.execute(stmt).one()._mapping)


def decimal_units(values: NDArray[np.float64], scale: int) -> NDArray[np.int64] | None:
    """The stored NUMERIC(p, ``scale``) values as exact integers in units of 10**-scale, from
    their doubles, or None where that cannot be guaranteed.

    A double is the decimal rounded to 53 bits (PostgreSQL's cast, SQLite's storage): while
    |units| < 2**50, ``value * 10**scale`` lands within 0.25 of the integer, so rounding it
    recovers the stored digits exactly. The int64 sum of n of them cannot overflow while
    n * max|units| < 2**62; both are checked.
    """
    if not values.size:
        return np.zeros(0, dtype=np.int64)
    if float(np.abs(values).max()) >= 2.0**50 / 10**scale:
        return None
    units = np.rint(values * float(10**scale)).astype(np.int64)
    if values.size * int(np.abs(units).max()) >= 2**62:
        return None
    return units


def commission_total(conn: sa.Connection, flt: TradeFilter) -> float:
    """Exact NUMERIC sum of the commission in the database, one ungrouped (parallel) scan: the
    only total the per-trade series does not carry. Cheaper than fetching it per trade."""
    stmt = sa.select(as_float(sa.func.sum(_T.commission))).where(flt.clause())
    return float(conn.execute(stmt).scalar_one() or 0.0)


def series_totals(
    conn: sa.Connection, flt: TradeFilter, close_times: NDArray[Any], pnl: NDArray[np.float64]
) -> dict[str, Any]:
    """:func:`totals` from the per-trade series already fetched (plus the commission's sum),
    sparing most of a second scan: counts and first/last close are exact anyway; the pnl sums
    are added as exact integers and divided once by Python (correctly rounded, as PostgreSQL's
    cast of its exact NUMERIC sum), so the figures are the very doubles the database would
    return. When the values are too large for that to be exact, the database sums them all."""
    units = decimal_units(pnl, _PNL_SCALE)
    if units is None:
        return totals(conn, flt)
    wins = units > 0
    return {
        "trades": int(pnl.size),
        "wins": int(np.count_nonzero(wins)),
        "losses": int(np.count_nonzero(units < 0)),
        "net_pnl": int(units.sum()) / 10**_PNL_SCALE,
        "gross_profit": int(units[wins].sum()) / 10**_PNL_SCALE,
        "commission": commission_total(conn, flt),
        "first_close": close_times[0],
        "last_close": close_times[-1],
    }


def expectancy(
    n: int, wins: int, losses: int, gross_profit: float, gross_loss: float
) -> tuple[float, float]:
    """Freqtrade's ``calculate_expectancy`` from the totals (its sums of winning and of losing
    trades are the gross profit and loss the database summed exactly)."""
    average_win = gross_profit / wins if wins else 0.0
    average_loss = gross_loss / losses if losses else 0.0
    win_rate, loss_rate = wins / n, losses / n
    value = win_rate * average_win - loss_rate * average_loss
    ratio = (1 + average_win / average_loss) * win_rate - 1 if average_loss > 0 else 100.0
    return value, ratio


def _utc(value: datetime | pd.Timestamp | np.datetime64 | None) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return to_utc(pd.Timestamp(value).to_pydatetime())


def summary(
    engine: sa.Engine, flt: TradeFilter | None = None, starting_balance: float = 1000.0
) -> LedgerSummary:
    """Headline figures of the filtered trades; ``starting_balance`` is the account balance at
    the start of the selection (for Sharpe/Sortino returns and the relative drawdown)."""
    check_balance(starting_balance)
    flt = or_all(flt)
    with snapshot(engine) as conn:
        cols = ordered_pnl(conn, flt)
        close_times, pnl = cols["ts"], cols["pnl"]
        if not pnl.size:
            return _empty_summary(starting_balance)
        tot = series_totals(conn, flt, close_times, pnl)

    n, wins, losses = int(tot["trades"]), int(tot["wins"]), int(tot["losses"])
    net = float(tot["net_pnl"])
    gross_profit = float(tot["gross_profit"])
    gross_loss = max(gross_profit - net, 0.0) if losses else 0.0

    # Summed from the per-trade series the drawdown needs anyway: cheaper than a second scan
    # grouped by day in the database.
    balance = perf.daily_balance(close_times, pnl, starting_balance)
    returns = perf.balance_returns(balance)

    # Freqtrade's two drawdowns: the largest fall in money (with its dates), and the deepest
    # fall as a share of the peak balance, which may be another, earlier, smaller-money episode.
    dd = perf.trade_drawdowns(pnl, starting_balance)
    calmar = perf.calmar_of(
        net / starting_balance, perf.balance_days(balance), dd.relative_at_money_trough
    )
    fell = dd.money > 0
    expectancy_value, expectancy_ratio = expectancy(n, wins, losses, gross_profit, gross_loss)
    return LedgerSummary(
        trades=n,
        wins=wins,
        losses=losses,
        win_rate=wins / n,
        net_pnl=net,
        avg_pnl=net / n,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=perf.undefined_as_none(perf.profit_factor_of_sums(gross_profit, gross_loss)),
        commission=float(tot["commission"] or 0.0),
        expectancy=float(expectancy_value),
        expectancy_ratio=float(expectancy_ratio),
        first_close=_utc(tot["first_close"]),
        last_close=_utc(tot["last_close"]),
        starting_balance=starting_balance,
        final_balance=starting_balance + net,
        sharpe=perf.undefined_as_none(perf.sharpe_ratio(returns)),
        sortino=perf.undefined_as_none(perf.sortino_ratio(returns)),
        calmar=perf.undefined_as_none(calmar),
        max_drawdown=dd.money,
        max_drawdown_pct=dd.relative,
        drawdown_peak_at=_utc(close_times[dd.peak_index]) if fell else None,
        drawdown_trough_at=_utc(close_times[dd.trough_index]) if fell else None,
    )


def _empty_summary(starting_balance: float) -> LedgerSummary:
    return LedgerSummary(
        trades=0,
        wins=0,
        losses=0,
        win_rate=None,
        net_pnl=0.0,
        avg_pnl=None,
        gross_profit=0.0,
        gross_loss=0.0,
        profit_factor=None,
        commission=0.0,
        expectancy=None,
        expectancy_ratio=None,
        first_close=None,
        last_close=None,
        starting_balance=starting_balance,
        final_balance=starting_balance,
        sharpe=None,
        sortino=None,
        calmar=None,
        max_drawdown=0.0,
        max_drawdown_pct=0.0,
        drawdown_peak_at=None,
        drawdown_trough_at=None,
    )
