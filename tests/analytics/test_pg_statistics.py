"""The proposed expression statistics (for the migrations) match the analytics queries."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tribar.analysis.analytics import TradeFilter
from tribar.analysis.analytics.metrics import group_statement
from tribar.analysis.analytics.sqlfuncs import (
    confidence_bucket,
    expression_statistics_ddl,
    utc_hour,
    utc_weekday,
)
from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.schema import metadata, trades

_T = trades.c


def estimated_groups(conn: sa.Connection, key: sa.ColumnElement[Any]) -> int:
    stmt = group_statement({"k": key}, TradeFilter().clause())
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = conn.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


@pytest.mark.postgres
def test_expression_statistics_give_the_planner_the_real_group_counts(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    metadata.create_all(engine)
    insert_trades(engine, make_trades(3000, seed=4, days=400))
    keys = {
        "hour": (utc_hour(_T.timestamp), 24),
        "weekday": (utc_weekday(_T.timestamp), 7),
        "bucket": (confidence_bucket(_T.model_confidence, 10), 11),  # 10 buckets + NULL
    }
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE trades"))
        before = {name: estimated_groups(conn, key) for name, (key, _) in keys.items()}
        for ddl in expression_statistics_ddl():
            conn.execute(sa.text(ddl))
        conn.execute(sa.text("ANALYZE trades"))
        after = {name: estimated_groups(conn, key) for name, (key, _) in keys.items()}
    engine.dispose()
    for name, (_, real) in keys.items():
        assert before[name] > 20 * real, (name, before)  # the problem: ~one group per row
        assert after[name] <= real, (name, after)  # matched: the planner knows the truth
