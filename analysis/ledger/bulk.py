"""Bulk writes into the ledger (imports): COPY on PostgreSQL, batched upserts on SQLite.

PostgreSQL's COPY cannot resolve conflicts itself, so rows are copied into a temporary stage
table and moved with one ``INSERT … SELECT … ON CONFLICT (trade_id)``. If the database refuses
a row (a CHECK the validation missed), the batch is redone row by row under savepoints so only
the bad rows are rejected (the caller dead-letters them) and the rest still land.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tribar.analysis.ledger.db import (
    OnConflict,
    describe_error,
    is_permanent_error,
    upsert_rows,
)
from tribar.analysis.ledger.schema import TRADE_COLUMNS, trades

_STAGE = "tribar_import_stage"
_COLS = ", ".join(f'"{c}"' for c in TRADE_COLUMNS)
_UPDATE_SET = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in TRADE_COLUMNS if c != "trade_id")


@dataclass
class WriteResult:
    submitted: int = 0
    """Rows handed in (after dropping repeated trade_ids within the import: last one wins)."""
    written: int = 0
    """Rows inserted, or updated when on_conflict='update'."""
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    """Rows the database refused, with the reason."""


def _dedupe(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    by_id: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        by_id[row["trade_id"]] = row
    return list(by_id.values())


def _chunks(rows: Sequence[Mapping[str, Any]], size: int) -> Iterator[Sequence[Mapping[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.Boolean):
        return "bool"
    if isinstance(column.type, sa.DateTime):
        return "datetime"
    if isinstance(column.type, sa.String):
        return "str"
    return "number"


_KINDS = [(name, _kind(trades.c[name])) for name in TRADE_COLUMNS]


def _copy_column(values: list[Any], kind: str) -> list[str]:
    # PostgreSQL COPY text format: \N for NULL, backslash escapes in text. One comprehension
    # per column keeps the type dispatch out of the per-value loop (the import's hot path).
    if kind == "str":
        return [_NULL if v is None else v.translate(_ESCAPES) for v in values]
    if kind == "datetime":
        return [_NULL if v is None else v.isoformat() for v in values]
    if kind == "bool":
        return [_NULL if v is None else ("t" if v else "f") for v in values]
    return [_NULL if v is None else str(v) for v in values]


def copy_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` in COPY text format, columns in TRADE_COLUMNS order."""
    columns = [_copy_column([row[name] for row in rows], kind) for name, kind in _KINDS]
    lines = ["\t".join(fields) for fields in zip(*columns, strict=True)]
    lines.append("")
    return "\n".join(lines)


class _CopyStream(io.TextIOBase):
    """Rows formatted for COPY on demand, a chunk per read: PostgreSQL parses one chunk while
    Python formats the next, and the whole batch never sits in memory as one string."""

    def __init__(self, rows: Sequence[Mapping[str, Any]], chunk: int = 2000) -> None:
        self._rows = rows
        self._pos = 0
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if self._pos >= len(self._rows):
            return ""
        part = self._rows[self._pos : self._pos + self._chunk]
        self._pos += self._chunk
        return copy_text(part)


def _pg_copy_upsert(
    conn: Connection, rows: Sequence[Mapping[str, Any]], on_conflict: OnConflict
) -> int:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    action = "DO NOTHING" if on_conflict == "ignore" else f"DO UPDATE SET {_UPDATE_SET}"
    cur = dbapi.cursor()
    try:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "
            f"SELECT {_COLS} FROM trades WITH NO DATA"
        )
        cur.execute(f"TRUNCATE {_STAGE}")
        # psycopg2's COPY FROM STDIN: one statement for the whole batch.
        cur.copy_expert(f"COPY {_STAGE} ({_COLS}) FROM STDIN", _CopyStream(rows))
        cur.execute(
            f"INSERT INTO trades ({_COLS}) SELECT {_COLS} FROM {_STAGE} "
            f"ON CONFLICT (trade_id) {action}"
        )
        return int(cur.rowcount)
    finally:
        cur.close()


def _fast_write(
    conn: Connection, rows: Sequence[Mapping[str, Any]], on_conflict: OnConflict
) -> int:
    if conn.dialect.name == "postgresql":
        return _pg_copy_upsert(conn, rows, on_conflict)
    result = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
    upsert_rows(conn, rows, on_conflict)
    after = conn.exec_driver_sql("SELECT total_changes()").scalar_one()
    return int(after) - int(result)


def write_rows(
    conn: Connection,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: OnConflict = "ignore",
    batch_size: int = 50_000,
) -> WriteResult:
    """Write validated rows in the caller's transaction (one savepoint per batch)."""
    unique = _dedupe(rows)
    result = WriteResult(submitted=len(unique))
    for batch in _chunks(unique, batch_size):
        try:
            with conn.begin_nested():
                result.written += _fast_write(conn, batch, on_conflict)
            continue
        except Exception as exc:
            if not is_permanent_error(exc):
                raise
        for row in batch:
            try:
                with conn.begin_nested():
                    result.written += _fast_write(conn, [row], on_conflict)
            except Exception as exc:
                if not is_permanent_error(exc):
                    raise
                result.rejected.append((dict(row), describe_error(exc)))
    return result
