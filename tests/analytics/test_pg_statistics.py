"""The expression statistics (migration 0002, and ``create_all``) match the analytics queries."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tribar.analysis.analytics import TradeFilter
from tribar.analysis.analytics.aggregates import group_statement
from tribar.analysis.analytics.sqlfuncs import (
    confidence_bucket,
    expression_statistics_ddl,
    utc_hour,
    utc_weekday,
)
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.migrate import upgrade
from tribar.analysis.ledger.schema import metadata, trades

_T = trades.c
MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "analysis"
    / "ledger"
    / "migrations"
    / "versions"
    / "0002_trades_close_order_index.py"
)
STATISTICS = ("stx_trades_utc_hour", "stx_trades_utc_weekday", "stx_trades_confidence_bucket10")


def estimated_groups(conn: sa.Connection, key: sa.ColumnElement[Any]) -> int:
    stmt = group_statement({"k": key}, TradeFilter().clause())
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def test_the_migration_creates_exactly_the_statistics_the_queries_need() -> None:
    spec = importlib.util.spec_from_file_location("migration_0002", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.statistics_ddl() == expression_statistics_ddl()


def statistics_names(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.text("SELECT stxname FROM pg_statistic_ext")).scalars())


@pytest.mark.postgres
def test_a_migrated_ledger_has_the_statistics(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert set(STATISTICS) <= statistics_names(conn)
    engine.dispose()


@pytest.mark.postgres
def test_expression_statistics_give_the_planner_the_real_group_counts(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    metadata.create_all(engine)  # creates the statistics too
    insert_trades(engine, make_trades(3000, seed=4, days=400))
    keys = {
        "hour": (utc_hour(_T.timestamp), 24),
        "weekday": (utc_weekday(_T.timestamp), 7),
        "bucket": (confidence_bucket(_T.model_confidence, 10), 11),  # 10 buckets + NULL
    }
    with engine.begin() as conn:
        assert set(STATISTICS) <= statistics_names(conn)
        conn.execute(sa.text("ANALYZE trades"))
        with_stats = {name: estimated_groups(conn, key) for name, (key, _) in keys.items()}
        for name in STATISTICS:
            conn.execute(sa.text(f"DROP STATISTICS {name}"))
        conn.execute(sa.text("ANALYZE trades"))
        without = {name: estimated_groups(conn, key) for name, (key, _) in keys.items()}
    engine.dispose()
    for name, (_, real) in keys.items():
        assert without[name] > 20 * real, (name, without)  # the problem: ~one group per row
        assert with_stats[name] <= real, (name, with_stats)  # matched: the planner knows the truth
