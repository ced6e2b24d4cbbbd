"""Portable SQL expressions: the only place where SQLite and PostgreSQL differ.

date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, which is slower to
compute and group by than date_part's double.

Every query in this package is one SQLAlchemy Core statement for both backends; these
elements compile to each dialect's spelling of the same UTC calendar arithmetic.

Why UTC needs care: on PostgreSQL ``timestamptz`` is extracted in the *session* time zone,
so ``AT TIME ZONE 'UTC'`` is required. SQLAlchemy stores SQLite datetimes as naive
``YYYY-MM-DD HH:MM:SS.ffffff`` text, which the ledger writes in UTC; SQLite's date functions
round that to milliseconds, so 23:59:59.9999 on a Sunday would become Monday 00:00. They are
therefore given only the first 19 characters (whole seconds), and the fraction is added apart.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SUPPORTED_DIALECTS = ("postgresql", "sqlite")


class _OneArg(FunctionElement[Any]):
    """A one-argument SQL function whose spelling depends on the dialect."""

    inherit_cache = True

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        super().__init__(column)


class utc_hour(_OneArg):  # noqa: N801 - reads like the SQL function it stands for
    """Hour of day 0-23 in UTC."""

    type = sa.Integer()
    name = "utc_hour"
    inherit_cache = True


class utc_weekday(_OneArg):  # noqa: N801
    """Day of week in UTC, Python's convention: Monday = 0 … Sunday = 6."""

    type = sa.Integer()
    name = "utc_weekday"
    inherit_cache = True


def _arg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


def _sqlite_seconds(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    """The stored text cut to whole seconds, so SQLite cannot round it into the next second."""
    return f"substr({_arg(element, compiler, **kw)}, 1, 19)"


@compiles(_OneArg)
def _unsupported(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(
        f"tribar analytics supports {', '.join(SUPPORTED_DIALECTS)}, not {compiler.dialect.name}"
    )


@compiles(utc_hour, "postgresql")
def _pg_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"CAST(date_part('hour', ({_arg(element, compiler, **kw)}) AT TIME ZONE 'UTC') AS INTEGER)"
    )


@compiles(utc_hour, "sqlite")
def _sqlite_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%H', {_sqlite_seconds(element, compiler, **kw)}) AS INTEGER)"


@compiles(utc_weekday, "postgresql")
def _pg_weekday(element: utc_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    # ISODOW is Monday=1..Sunday=7, so minus one gives Python's weekday().
    return (
        f"(CAST(date_part('isodow', ({_arg(element, compiler, **kw)}) AT TIME ZONE 'UTC') "
        "AS INTEGER) - 1)"
    )


@compiles(utc_weekday, "sqlite")
def _sqlite_weekday(element: utc_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    # %w is Sunday=0..Saturday=6; shift so Monday=0.
    return (
        f"((CAST(strftime('%w', {_sqlite_seconds(element, compiler, **kw)}) AS INTEGER) + 6) % 7)"
    )


class epoch_seconds(_OneArg):  # noqa: N801
    """Seconds since 1970-01-01 UTC as a double, microseconds in the fraction."""

    type = sa.Float()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _pg_epoch(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part returns double; EXTRACT returns numeric since PostgreSQL 14 (slower, Decimals).
    return f"date_part('epoch', {_arg(element, compiler, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _sqlite_epoch(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # julianday() keeps only milliseconds; whole seconds plus the stored '.ffffff' keep them all.
    whole = _sqlite_seconds(element, compiler, **kw)
    arg = _arg(element, compiler, **kw)
    return f"(CAST(strftime('%s', {whole}) AS INTEGER) + CAST(substr({arg}, 20, 7) AS REAL))"


def as_float(expr: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
    """CAST to double in SQL: PostgreSQL sums NUMERIC exactly, then we take a float once, and
    drivers return plain floats instead of Decimals (much faster to fetch, same on SQLite)."""
    return sa.cast(expr, sa.Float(asdecimal=False))


class nonneg_floor(_OneArg):  # noqa: N801
    """floor(x) as an integer for x >= 0.

    Not ``CAST(… AS INTEGER)`` everywhere: PostgreSQL's cast rounds, SQLite's truncates; and
    SQLite's ``floor`` only exists when it was built with math functions.
    """

    type = sa.Integer()
    name = "nonneg_floor"
    inherit_cache = True


@compiles(nonneg_floor, "postgresql")
def _pg_floor(element: nonneg_floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR({_arg(element, compiler, **kw)}) AS INTEGER)"


@compiles(nonneg_floor, "sqlite")
def _sqlite_floor(element: nonneg_floor, compiler: SQLCompiler, **kw: Any) -> str:
    # Truncation is floor for the non-negative values this is used on.
    return f"CAST({_arg(element, compiler, **kw)} AS INTEGER)"


def confidence_bucket(column: sa.ColumnElement[Any], n_buckets: int) -> sa.ColumnElement[int]:
    """Equal-width bucket 0..n-1 of a value in [0, 1]; exactly 1.0 joins the top bucket.

    Both backends and numpy do the same IEEE double multiply, so bucket edges agree exactly.
    """
    # Inline constants, not binds: SELECT and GROUP BY must be the very same expression text.
    raw = nonneg_floor(column * sa.literal_column(repr(float(n_buckets)), sa.Float))
    top = sa.literal_column(str(int(n_buckets) - 1), sa.Integer)
    return sa.case((raw > top, top), else_=raw)


def expression_statistics_ddl(n_buckets: int = 10) -> list[str]:
    """PostgreSQL ``CREATE STATISTICS`` for the grouping expressions above: migration 0002
    creates them (written out there; a test checks they are these), and ``schema.py`` applies
    them to tables made by ``create_all``.

    Without them the planner takes each expression to have as many values as ``timestamp`` or
    ``model_confidence`` itself (about one per row), so it sees no gain in partial aggregation
    and runs by-hour, by-weekday and confidence-bucket queries on one core instead of in
    parallel. The expressions are compiled from the very elements the queries use, so they
    cannot drift apart (the planner matches them structurally).
    """
    from sqlalchemy.dialects import postgresql

    ts = sa.column("timestamp", sa.DateTime(timezone=True))
    conf = sa.column("model_confidence", sa.Float)
    exprs: dict[str, sa.ColumnElement[Any]] = {
        "stx_trades_utc_hour": utc_hour(ts),
        "stx_trades_utc_weekday": utc_weekday(ts),
        f"stx_trades_confidence_bucket{n_buckets}": confidence_bucket(conf, n_buckets),
    }
    dialect = postgresql.dialect()
    return [
        f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expr.compile(dialect=dialect)}) FROM trades"
        for name, expr in exprs.items()
    ]
