"""Trades grouped by UTC hour, UTC weekday, both, pair, and model-confidence bucket."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tribar.analysis.analytics.aggregates import dense, derive, grouped
from tribar.analysis.analytics.filters import TradeFilter, or_all
from tribar.analysis.analytics.results import (
    WEEKDAY_NAMES,
    ConfidenceBuckets,
    Extremes,
    HourWeekdayMatrix,
)
from tribar.analysis.analytics.sqlfuncs import confidence_bucket, utc_hour, utc_weekday
from tribar.analysis.analytics.transport import snapshot
from tribar.analysis.ledger.schema import trades

_T = trades.c
HOURS = range(24)
WEEKDAYS = range(7)
MAX_BUCKETS = 1000


def by_hour(engine: sa.Engine, flt: TradeFilter | None = None) -> pd.DataFrame:
    """24 rows, index ``hour`` (UTC, by close time), GROUP_COLUMNS figures."""
    with snapshot(engine) as conn:
        raw = grouped(conn, {"hour": utc_hour(_T.timestamp)}, or_all(flt).clause())
    return dense(raw, "hour", HOURS)


def by_weekday(engine: sa.Engine, flt: TradeFilter | None = None) -> pd.DataFrame:
    """7 rows, index ``weekday`` 0 = Monday (UTC, by close time), a ``name`` column, figures."""
    with snapshot(engine) as conn:
        raw = grouped(conn, {"weekday": utc_weekday(_T.timestamp)}, or_all(flt).clause())
    out = dense(raw, "weekday", WEEKDAYS)
    out.insert(0, "name", [WEEKDAY_NAMES[i] for i in out.index])
    return out


def hour_weekday_matrix(engine: sa.Engine, flt: TradeFilter | None = None) -> HourWeekdayMatrix:
    """Trades, net pnl and win rate per (UTC weekday, UTC hour) cell."""
    with snapshot(engine) as conn:
        raw = grouped(
            conn,
            {"weekday": utc_weekday(_T.timestamp), "hour": utc_hour(_T.timestamp)},
            or_all(flt).clause(),
        )
    full = pd.MultiIndex.from_product([WEEKDAYS, HOURS], names=["weekday", "hour"])
    cells = derive(raw.set_index(["weekday", "hour"]).reindex(full))

    def grid(column: str) -> pd.DataFrame:
        table = cells[column].unstack("hour")
        table.index.name = "weekday"
        table.columns.name = "hour"
        return table

    return HourWeekdayMatrix(
        trades=grid("trades"), net_pnl=grid("net_pnl"), win_rate=grid("win_rate")
    )


def by_pair(engine: sa.Engine, flt: TradeFilter | None = None) -> pd.DataFrame:
    """One row per traded pair, index ``pair``, best net pnl first (ties: alphabetical)."""
    with snapshot(engine) as conn:
        raw = grouped(conn, {"pair": _T.symbol}, or_all(flt).clause())
    out = derive(raw.set_index("pair"))
    order = np.lexsort((out.index.to_numpy(dtype=str), -out["net_pnl"].to_numpy()))
    return out.iloc[order]


def confidence_buckets(
    engine: sa.Engine, flt: TradeFilter | None = None, n_buckets: int = 10
) -> ConfidenceBuckets:
    """Win rate and pnl per equal-width model-confidence bucket: does confidence pay?

    Bucket i holds confidence in [i/n, (i+1)/n); 1.0 belongs to the top bucket.
    """
    if not 1 <= n_buckets <= MAX_BUCKETS:
        raise ValueError(f"n_buckets must be between 1 and {MAX_BUCKETS}, got {n_buckets}")
    bucket = confidence_bucket(_T.model_confidence, n_buckets)
    with snapshot(engine) as conn:
        # NULL confidence falls into a NULL bucket in the same single scan: the unscored trades.
        raw = grouped(conn, {"bucket": bucket}, or_all(flt).clause())
    unscored = raw[raw["bucket"].isna()]
    scored = raw[raw["bucket"].notna()].astype({"bucket": np.int64})
    frame = dense(scored, "bucket", range(n_buckets))
    frame.insert(0, "lower", frame.index.to_numpy() / n_buckets)
    frame.insert(1, "upper", (frame.index.to_numpy() + 1) / n_buckets)
    return ConfidenceBuckets(
        frame=frame,
        unscored_trades=int(unscored["trades"].sum()),
        unscored_net_pnl=float(unscored["net_pnl"].sum()),
    )


def pick_extremes(hours: pd.DataFrame, pairs: pd.DataFrame) -> Extremes:
    """Best/worst hour and pair by net pnl, among those with trades. Ties go to the earlier
    hour / alphabetically first pair, so the answer does not depend on row order."""

    def best_worst(frame: pd.DataFrame) -> tuple[Any, Any]:
        active = frame[frame["trades"] > 0]
        rows = sorted(zip(active.index, active["net_pnl"], strict=True), key=lambda kv: kv[0])
        if not rows:
            return None, None
        # max/min return the first extreme in key order: ties go to the smaller key.
        return max(rows, key=lambda kv: kv[1])[0], min(rows, key=lambda kv: kv[1])[0]

    best_h, worst_h = best_worst(hours)
    best_p, worst_p = best_worst(pairs)
    return Extremes(
        best_hour=None if best_h is None else int(best_h),
        worst_hour=None if worst_h is None else int(worst_h),
        best_pair=None if best_p is None else str(best_p),
        worst_pair=None if worst_p is None else str(worst_p),
    )


def extremes(engine: sa.Engine, flt: TradeFilter | None = None) -> Extremes:
    """Best/worst UTC hour of day and pair by net pnl."""
    return pick_extremes(by_hour(engine, flt), by_pair(engine, flt))


def stake_currencies(engine: sa.Engine, flt: TradeFilter | None = None) -> list[str]:
    """Distinct stake currencies of the filtered trades: pnl sums only mean something in one."""
    currency = _T.stake_currency
    stmt = (
        sa.select(currency)
        .where(or_all(flt).clause(), currency.is_not(None))
        .group_by(currency)
        .order_by(currency)
    )
    with snapshot(engine) as conn:
        return [str(c) for c in conn.execute(stmt).scalars()]
