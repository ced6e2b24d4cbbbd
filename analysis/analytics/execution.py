"""Fill quality: slippage and order latency distributions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tribar.analysis.analytics.filters import TradeFilter, or_all
from tribar.analysis.analytics.results import Distribution, ExecutionQuality
from tribar.analysis.analytics.sqlfuncs import as_float
from tribar.analysis.analytics.transport import percentiles, snapshot
from tribar.analysis.ledger.schema import trades

_T = trades.c
QUANTILES = (0.5, 0.9, 0.99)


def execution_quality(engine: sa.Engine, flt: TradeFilter | None = None) -> ExecutionQuality:
    """p50/p90/p99 (and count, mean, max) of slippage in basis points and order latency in ms,
    over the filtered trades that recorded them (NULLs are trades without fill telemetry)."""
    where = or_all(flt).clause()
    columns: dict[str, sa.ColumnElement[Any]] = {
        "slippage_bps": _T.slippage_bps,
        "order_latency_ms": _T.order_latency_ms,
    }
    aggregates = [
        agg
        for col in columns.values()
        for agg in (sa.func.count(col), as_float(sa.func.avg(col)), as_float(sa.func.max(col)))
    ]
    with snapshot(engine) as conn:
        row, pct = percentiles(conn, columns, QUANTILES, where=where, aggregates=aggregates)

    def dist(i: int, name: str) -> Distribution:
        count, mean, top = row[3 * i : 3 * i + 3]
        p50, p90, p99 = pct[name]
        return Distribution(
            count=int(count),
            mean=None if mean is None else float(mean),
            p50=p50,
            p90=p90,
            p99=p99,
            max=None if top is None else float(top),
        )

    return ExecutionQuality(
        slippage_bps=dist(0, "slippage_bps"), order_latency_ms=dist(1, "order_latency_ms")
    )
