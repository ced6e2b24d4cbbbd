"""The per-trade pnl series in close order, and the equity/drawdown curve built on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from numpy.typing import NDArray

from tribar.analysis.analytics.filters import TradeFilter, or_all
from tribar.analysis.analytics.performance import running_peak
from tribar.analysis.analytics.transport import fetch_columns, snapshot
from tribar.analysis.ledger.schema import trades

_T = trades.c

# Freqtrade's names, so its metric functions take the frame as it is.
DATE_COL = "close_date"
VALUE_COL = "profit_abs"

EQUITY_COLUMNS = (
    DATE_COL,
    VALUE_COL,
    "cumulative",
    "balance",
    "peak_balance",
    "drawdown",
    "drawdown_pct",
)


def check_balance(starting_balance: float) -> None:
    if not starting_balance > 0:
        raise ValueError(f"starting balance must be positive, got {starting_balance}")


def ordered_pnl(conn: sa.Connection, flt: TradeFilter) -> dict[str, NDArray[Any]]:
    """Close time ``ts`` (``datetime64[us]``, UTC) and net pnl ``pnl`` (float) of each trade, in
    close order (ties by ledger id).

    Ordered by the database: the covering ``ix_trades_timestamp_id`` index hands PostgreSQL the
    rows already in that order in an index-only scan, so neither the server nor numpy sorts, no
    id travels and the table itself is not read."""
    return fetch_columns(
        conn,
        {"ts": _T.timestamp, "pnl": _T.net_pnl},
        where=flt.clause(),
        order_by=(_T.timestamp, _T.id),
    )


def trade_series(conn: sa.Connection, flt: TradeFilter) -> pd.DataFrame:
    """``close_date`` (UTC) and ``profit_abs`` (net pnl) of each trade, in close order."""
    cols = ordered_pnl(conn, flt)
    return pd.DataFrame(
        {DATE_COL: pd.DatetimeIndex(cols["ts"]).tz_localize("UTC"), VALUE_COL: cols["pnl"]}
    )


def equity_from_series(series: pd.DataFrame, starting_balance: float) -> pd.DataFrame:
    """One row per trade: the balance after it, its running peak and the drawdown from it.

    The arithmetic of Freqtrade's ``calculate_underwater`` (peak counts the starting balance,
    so an account that only ever lost is in drawdown from its first trade), done on numpy
    arrays: the same sequential cumulative sum and running maximum, without its leading zero
    row (a point before the first trade, not a trade) and without its DataFrame overhead.
    """
    check_balance(starting_balance)
    if series.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in EQUITY_COLUMNS}).astype(
            {DATE_COL: "datetime64[us, UTC]"}
        )
    pnl = series[VALUE_COL].to_numpy(dtype=np.float64)
    cumulative = np.cumsum(pnl)
    peak = starting_balance + running_peak(cumulative)
    balance = starting_balance + cumulative
    return pd.DataFrame(
        {
            DATE_COL: series[DATE_COL].array,
            VALUE_COL: pnl,
            "cumulative": cumulative,
            "balance": balance,
            "peak_balance": peak,
            "drawdown": balance - peak,
            "drawdown_pct": (balance - peak) / peak,
        }
    )


def equity_curve(
    engine: sa.Engine, flt: TradeFilter | None = None, starting_balance: float = 1000.0
) -> pd.DataFrame:
    """Per-trade equity curve (EQUITY_COLUMNS); ``drawdown`` <= 0 in money, ``drawdown_pct``
    as a share of the peak balance. Empty frame when no trade matches."""
    check_balance(starting_balance)
    with snapshot(engine) as conn:
        series = trade_series(conn, or_all(flt))
    return equity_from_series(series, starting_balance)
