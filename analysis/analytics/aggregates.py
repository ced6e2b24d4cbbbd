"""The SQL aggregates every breakdown and the ledger summary share (counts and sums per
group), then the per-group ratios in pandas. The metrics themselves (profit factor here) come
from ``performance``, tribar's one metrics module.

Counts and sums are aggregated in the database (the part that scales with trades); ratios
are derived afterwards from the few resulting rows, identically for every breakdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tribar.analysis.analytics.performance import profit_factor_of_sums
from tribar.analysis.analytics.results import GROUP_COLUMNS
from tribar.analysis.analytics.sqlfuncs import as_float
from tribar.analysis.ledger.schema import trades

_T = trades.c
_ZERO: sa.ColumnElement[int] = sa.literal_column("0", sa.Integer)

COUNT_COLUMNS = ("trades", "wins", "losses")


def aggregate_columns() -> list[sa.Label[Any]]:
    """count / wins / losses / net / gross profit of a group (gross loss is derived: net is
    gross profit minus gross loss, one NUMERIC sum fewer per row).

    Sums are over NUMERIC (exact on PostgreSQL) and cast to double once, at the end.
    ``FILTER (WHERE …)`` rather than ``SUM(CASE …)``: leaner per row, and both backends have it.
    """
    net = _T.net_pnl
    return [
        sa.func.count().label("trades"),
        sa.func.count().filter(net > 0).label("wins"),
        sa.func.count().filter(net < 0).label("losses"),
        as_float(sa.func.coalesce(sa.func.sum(net), _ZERO)).label("net_pnl"),
        as_float(sa.func.coalesce(sa.func.sum(net).filter(net > 0), _ZERO)).label("gross_profit"),
    ]


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Add win_rate, avg_pnl, profit_factor (NaN where undefined) and order the columns."""
    out = frame.copy()
    for col in COUNT_COLUMNS:
        out[col] = out[col].fillna(0).astype(np.int64)
    for col in ("net_pnl", "gross_profit"):
        out[col] = out[col].fillna(0.0).astype(np.float64)
    # Without a losing trade the loss is exactly 0 (not a rounding residue: that would turn an
    # infinite profit factor into a huge finite one).
    residue = (out["gross_profit"] - out["net_pnl"]).clip(lower=0.0)
    out["gross_loss"] = residue.where(out["losses"] > 0, 0.0)
    n = out["trades"].where(out["trades"] > 0)
    out["win_rate"] = out["wins"] / n
    out["avg_pnl"] = out["net_pnl"] / n
    out["profit_factor"] = np.array(
        [
            profit_factor_of_sums(gp, gl)
            for gp, gl in zip(out["gross_profit"], out["gross_loss"], strict=True)
        ],
        dtype=np.float64,
    )
    extra = [c for c in out.columns if c not in GROUP_COLUMNS]
    return out[extra + list(GROUP_COLUMNS)]


def grouped(
    conn: sa.Connection,
    keys: dict[str, sa.ColumnElement[Any]],
    where: sa.ColumnElement[bool],
    extra: Sequence[sa.Label[Any]] = (),
) -> pd.DataFrame:
    """One GROUP BY over the filtered trades: raw aggregates (plus ``extra`` ones), one row per
    key combination."""
    stmt = group_statement(keys, where, extra)
    rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(stmt.selected_columns.keys()))


def group_statement(
    keys: dict[str, sa.ColumnElement[Any]],
    where: sa.ColumnElement[bool],
    extra: Sequence[sa.Label[Any]] = (),
) -> sa.Select[Any]:
    labelled = [expr.label(name) for name, expr in keys.items()]
    aggregates = [*aggregate_columns(), *extra]
    return sa.select(*labelled, *aggregates).where(where).group_by(*keys.values())


def dense(frame: pd.DataFrame, key: str, values: range) -> pd.DataFrame:
    """Every key in ``values`` present (hours without trades are rows of zeros, not gaps)."""
    indexed = frame.set_index(key).reindex(list(values))
    indexed.index.name = key
    return derive(indexed)
