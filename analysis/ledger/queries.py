"""The example queries shipped in ``analysis/ledger/sql`` (PostgreSQL files, with SQLite twins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SQL_DIR = Path(__file__).resolve().parent / "sql"
EXAMPLE_QUERIES = ("performance_by_hour", "confidence_buckets")


def example_query_path(name: str, dialect: str = "postgresql") -> Path:
    if name not in EXAMPLE_QUERIES:
        raise ValueError(f"unknown example query {name!r}; known: {', '.join(EXAMPLE_QUERIES)}")
    if dialect == "postgresql":
        return SQL_DIR / f"{name}.sql"
    if dialect == "sqlite":
        return SQL_DIR / f"{name}.sqlite.sql"
    raise ValueError(f"example queries exist for postgresql and sqlite, not {dialect!r}")


def example_query(name: str, dialect: str = "postgresql") -> str:
    """The SQL text of example ``name`` for ``dialect``."""
    return example_query_path(name, dialect).read_text(encoding="utf-8")


def run_example_query(conn: Connection, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run example ``name`` on ``conn`` (dialect picked from it); (column names, rows)."""
    sql = example_query(name, conn.dialect.name).strip().rstrip(";")
    result = conn.execute(sa.text(sql))
    return list(result.keys()), [tuple(r) for r in result]
