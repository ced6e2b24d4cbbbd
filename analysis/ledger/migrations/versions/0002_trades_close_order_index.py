"""Analytics: a covering index on trades in close order, and expression statistics.

``(timestamp, id) INCLUDE (net_pnl)`` on PostgreSQL: the equity curve and the summary read
every selected trade's close time and net pnl in (close time, id) order; with it that is an
index-only scan that needs no sort and does not touch the table. SQLite has no
INCLUDE and gets the plain ``(timestamp, id)`` index, which still spares its sort.

PostgreSQL ``CREATE STATISTICS`` on the UTC hour, UTC weekday and confidence-bucket expressions
the analytics group by: without them the planner takes each to have about one value per row,
sees no gain in partial aggregation and aggregates on one core; with them (after the next
ANALYZE, which autovacuum runs) it aggregates in parallel. The statements are written out here,
as a migration must not change with the code; a test checks they equal
``tribar.analysis.analytics.sqlfuncs.expression_statistics_ddl()``, which ``schema.py`` applies
to tables made by ``create_all``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


STATISTICS = {
    "stx_trades_utc_hour": "CAST(date_part('hour', (timestamp) AT TIME ZONE 'UTC') AS INTEGER)",
    "stx_trades_utc_weekday": (
        "(CAST(date_part('isodow', (timestamp) AT TIME ZONE 'UTC') AS INTEGER) - 1)"
    ),
    "stx_trades_confidence_bucket10": (
        "CASE WHEN (CAST(FLOOR(model_confidence * 10.0) AS INTEGER) > 9) THEN 9 "
        "ELSE CAST(FLOOR(model_confidence * 10.0) AS INTEGER) END"
    ),
}


def statistics_ddl() -> list[str]:
    return [
        f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expr}) FROM trades"
        for name, expr in STATISTICS.items()
    ]


def upgrade() -> None:
    op.create_index(
        "ix_trades_timestamp_id",
        "trades",
        ["timestamp", "id"],
        unique=False,
        postgresql_include=["net_pnl"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for ddl in statistics_ddl():
            op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
    op.drop_index("ix_trades_timestamp_id", table_name="trades")
