"""Headline figures of the ledger: counts, pnl, profit factor, Sharpe/Sortino, max drawdown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from freqtrade.data.metrics import (
    calculate_expectancy,
    calculate_max_drawdown,
    calculate_sharpe_from_balance,
    calculate_sortino_from_balance,
)

from tribar.analysis.analytics.equity import (
    DATE_COL,
    SEQ_COL,
    VALUE_COL,
    check_balance,
    trade_series,
    with_sequence,
)
from tribar.analysis.analytics.filters import TradeFilter, or_all, to_utc
from tribar.analysis.analytics.metrics import aggregate_columns, profit_factor
from tribar.analysis.analytics.results import LedgerSummary
from tribar.analysis.analytics.sqlfuncs import as_float
from tribar.analysis.analytics.transport import snapshot
from tribar.analysis.schema import trades

_T = trades.c


def totals(conn: sa.Connection, flt: TradeFilter) -> dict[str, Any]:
    """Counts and exact NUMERIC sums in the database, in one ungrouped (parallel) scan."""
    extra = [
        as_float(sa.func.sum(_T.commission)).label("commission"),
        sa.func.min(_T.timestamp).label("first_close"),
        sa.func.max(_T.timestamp).label("last_close"),
    ]
    stmt = sa.select(*aggregate_columns(), *extra).where(flt.clause())
    return dict(conn.execute(stmt).one()._mapping)


def daily_balance(series: pd.DataFrame, starting_balance: float) -> pd.DataFrame:
    """End-of-UTC-day balance for every calendar day from the first to the last trading day,
    preceded by the starting balance on the day before: days without trades are flat days,
    which a Sharpe ratio must count (leaving them out would overstate it).

    Summed from the per-trade series the drawdown needs anyway: cheaper than a second scan
    grouped by day in the database.
    """
    days = series[DATE_COL].dt.tz_convert(None).to_numpy().astype("datetime64[D]")
    first = days.min()
    offset = (days - first).astype(np.int64)
    per_day = np.bincount(offset, weights=series[VALUE_COL].to_numpy())
    balance = starting_balance + np.concatenate(([0.0], np.cumsum(per_day)))
    calendar = pd.date_range(
        pd.Timestamp(first) - timedelta(days=1), periods=len(balance), freq="D", tz="UTC"
    )
    return pd.DataFrame({"date": calendar, "balance": balance})


def _ratio_or_none(value: float, returns: np.ndarray, downside: bool) -> float | None:
    """Freqtrade answers -100 when a ratio is undefined (zero deviation), a hyperopt signal;
    here such a ratio is reported as undefined instead."""
    sample = returns[returns < 0] if downside else returns
    if sample.size < 2 or float(np.std(sample)) == 0.0:
        return None
    return float(value)


def _utc(value: datetime | pd.Timestamp | None) -> datetime | None:
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
        tot = totals(conn, flt)
        series = trade_series(conn, flt) if tot["trades"] else None

    if series is None or series.empty:
        return _empty_summary(starting_balance)

    n, wins, losses = int(tot["trades"]), int(tot["wins"]), int(tot["losses"])
    net = float(tot["net_pnl"])
    gross_profit = float(tot["gross_profit"])
    gross_loss = max(gross_profit - net, 0.0) if losses else 0.0

    balance = daily_balance(series, starting_balance)
    returns = balance["balance"].pct_change().dropna().to_numpy()
    sharpe = _ratio_or_none(
        calculate_sharpe_from_balance(balance, date_col="date", balance_col="balance"),
        returns,
        downside=False,
    )
    sortino = _ratio_or_none(
        calculate_sortino_from_balance(balance, date_col="date", balance_col="balance"),
        returns,
        downside=True,
    )

    # Freqtrade's two drawdowns: the largest fall in money (with its dates), and the deepest
    # fall as a share of the peak balance, which may be another, earlier, smaller-money episode.
    numbered = with_sequence(series)
    drawdown = calculate_max_drawdown(
        numbered, date_col=SEQ_COL, value_col=VALUE_COL, starting_balance=starting_balance
    )
    underwater = calculate_max_drawdown(
        numbered,
        date_col=SEQ_COL,
        value_col=VALUE_COL,
        starting_balance=starting_balance,
        relative=True,
    )
    dates = series[DATE_COL]
    fell = drawdown.drawdown_abs > 0
    expectancy, expectancy_ratio = calculate_expectancy(series)
    return LedgerSummary(
        trades=n,
        wins=wins,
        losses=losses,
        win_rate=wins / n,
        net_pnl=net,
        avg_pnl=net / n,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=profit_factor(gross_profit, gross_loss),
        commission=float(tot["commission"] or 0.0),
        expectancy=float(expectancy),
        expectancy_ratio=float(expectancy_ratio),
        first_close=_utc(tot["first_close"]),
        last_close=_utc(tot["last_close"]),
        starting_balance=starting_balance,
        final_balance=starting_balance + net,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=float(drawdown.drawdown_abs),
        max_drawdown_pct=float(underwater.relative_account_drawdown),
        drawdown_peak_at=(dates.iloc[int(drawdown.high_date)].to_pydatetime() if fell else None),
        drawdown_trough_at=(dates.iloc[int(drawdown.low_date)].to_pydatetime() if fell else None),
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
        max_drawdown=0.0,
        max_drawdown_pct=0.0,
        drawdown_peak_at=None,
        drawdown_trough_at=None,
    )
