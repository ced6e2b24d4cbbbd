"""Ledger database access: engines, idempotent upserts on ``trade_id``, dead letters, and how
to tell a passing outage from a row the database will never accept."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tribar.analysis.ledger.schema import (
    TRADE_COLUMNS,
    entry_decisions,
    trade_dead_letters,
    trades,
)
from tribar.analysis.ledger.url import safe_url, validate_url

log = logging.getLogger(__name__)

OnConflict = Literal["update", "ignore"]

# Columns an upsert refreshes: everything but the key and the first-recorded time.
_UPDATE_COLUMNS = tuple(c for c in TRADE_COLUMNS if c != "trade_id")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets report queries read while the mirror writes; the busy timeout rides out the
    # short write locks instead of failing with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_ledger_engine(url: str, *, connect_timeout: int = 5) -> Engine:
    """An engine for the ledger at ``url`` (SQLite file or PostgreSQL)."""
    parsed = validate_url(url, "the ledger settings")
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None  # validate_url rejects in-memory URLs
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(
        url,
        # A restarted server leaves dead pooled connections; check before use.
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout, "application_name": "tribar-ledger"},
    )


def _insert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(trades)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(trades)
    raise ValueError(f"the ledger supports postgresql and sqlite, not {dialect}")


def upsert_statement(dialect: str, on_conflict: OnConflict = "update") -> Any:
    """INSERT … ON CONFLICT (trade_id) DO UPDATE (or DO NOTHING) for ``dialect``."""
    stmt = _insert_for(dialect)
    if on_conflict == "ignore":
        return stmt.on_conflict_do_nothing(index_elements=[trades.c.trade_id])
    return stmt.on_conflict_do_update(
        index_elements=[trades.c.trade_id],
        set_={name: stmt.excluded[name] for name in _UPDATE_COLUMNS},
    )


def upsert_rows(
    conn: Connection, rows: Sequence[Mapping[str, Any]], on_conflict: OnConflict = "update"
) -> None:
    """Write ``rows`` (every key of TRADE_COLUMNS) in the caller's transaction."""
    if not rows:
        return
    conn.execute(upsert_statement(conn.dialect.name, on_conflict), [dict(r) for r in rows])


def insert_decisions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write entry-decision rows, keeping the first of each ``decision_key`` (a repeat after a
    restart or a re-delivery is the same decision: DO NOTHING)."""
    if not rows:
        return
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(entry_decisions)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(entry_decisions)
    else:
        raise ValueError(f"the ledger supports postgresql and sqlite, not {dialect}")
    stmt = stmt.on_conflict_do_nothing(index_elements=[entry_decisions.c.decision_key])
    conn.execute(stmt, [dict(r) for r in rows])


def insert_dead_letter(
    conn: Connection, trade_id: str | None, payload: Mapping[str, Any], reason: str
) -> bool:
    """Record a row that can never be valid; False if this (trade, reason) is already there.

    Delivery can be retried after the dead letter committed but before the outbox forgot it,
    so the same letter must not be stored twice.
    """
    tid_match = (
        trade_dead_letters.c.trade_id.is_(None)
        if trade_id is None
        else trade_dead_letters.c.trade_id == trade_id
    )
    exists = conn.execute(
        sa.select(sa.literal(1)).where(tid_match, trade_dead_letters.c.reason == reason).limit(1)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        trade_dead_letters.insert().values(trade_id=trade_id, payload=dict(payload), reason=reason)
    )
    return True


def is_permanent_error(exc: BaseException) -> bool:
    """True if the database rejected the data itself (retrying the same row cannot succeed).

    Constraint and data errors (CHECK, NOT NULL, value too long, numeric overflow) and
    values the driver cannot even bind are permanent; connection loss, locks, a missing table
    (ledger not migrated yet) and everything unknown are treated as passing.
    """
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return True
    # Raw driver errors (COPY runs on the psycopg2 cursor): PEP 249 class names.
    if any(c.__name__ in ("IntegrityError", "DataError") for c in type(exc).__mro__):
        return True
    # A StatementError that is not a DBAPIError failed while binding parameters, client side.
    return isinstance(exc, sa.exc.StatementError) and not isinstance(exc, sa.exc.DBAPIError)


def describe_error(exc: BaseException, url: str | None = None) -> str:
    """One line for logs and dead letters, without the SQL statement or parameters."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        text = f"{type(exc.orig).__name__}: {str(exc.orig).strip()}"
    else:
        text = f"{type(exc).__name__}: {str(exc).strip()}"
    text = " ".join(text.split())
    missing_table = "no such table" in text or (
        isinstance(exc, sa.exc.ProgrammingError) and "does not exist" in text
    )
    if missing_table:
        where = f" at {safe_url(url)}" if url else ""
        text += f" (is the ledger{where} migrated? run: tribar db upgrade)"
    return text[:2000]
