"""How analytics talk to the database: one read-only snapshot per call, fast bulk reads of
float columns, and percentiles. Each function hides one backend difference behind one API."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray

from tribar.analysis.analytics.sqlfuncs import SUPPORTED_DIALECTS, as_float, epoch_seconds

# Sorts for ordered series and percentile_cont over a million rows spill to disk at
# PostgreSQL's 4MB default; in memory they are several times faster. Local to the transaction.
PG_WORK_MEM = "128MB"


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A read-only connection that sees one consistent state of the ledger, so the several
    statements of one analytics call agree with each other while trades keep arriving."""
    if engine.dialect.name not in SUPPORTED_DIALECTS:
        raise ValueError(
            f"tribar analytics supports {', '.join(SUPPORTED_DIALECTS)}, not {engine.dialect.name}"
        )
    options: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
        yield conn


def _kind(expr: sa.ColumnElement[Any]) -> str:
    if isinstance(expr.type, sa.DateTime):
        if not expr.type.timezone:
            raise ValueError(
                "only timezone-aware timestamps can be fetched (naive ones are ambiguous)"
            )
        return "timestamp"
    if isinstance(expr.type, sa.Integer):
        return "int"
    if (
        isinstance(expr.type, sa.Numeric)
        and not isinstance(expr.type, sa.Float)
        and expr.type.scale is not None
    ):
        return "decimal"
    return "float"


def fetch_columns(
    conn: sa.Connection,
    columns: Mapping[str, sa.ColumnElement[Any]],
    *,
    where: sa.ColumnElement[bool],
    order_by: Sequence[sa.ColumnElement[Any]] = (),
) -> dict[str, NDArray[Any]]:
    """``SELECT <columns> FROM trades WHERE … ORDER BY …`` as numpy arrays: timezone-aware
    timestamps as ``datetime64[us]`` (UTC), integers as int64, everything else (NUMERIC too) as
    float64.

    Columns must not be NULL (filter them in ``where``). On PostgreSQL the rows come through
    binary COPY straight into numpy: turning a million rows into Python tuples first is what
    makes a naive fetch several seconds slow, and timestamps and bigints cross as the 8-byte
    integers PostgreSQL stores, with no per-row conversion on the server; NUMERICs cross as
    exact integer units (:func:`decimal_units_sql`) and become the doubles PostgreSQL's own cast
    would give (:func:`units_to_float`). SQLite runs the same statement the ordinary way,
    timestamps read as epoch seconds.
    """
    from tribar.analysis.ledger.schema import trades

    kinds = {name: _kind(expr) for name, expr in columns.items()}
    pg = conn.dialect.name == "postgresql"

    def statement(decimals: str) -> sa.Select[Any]:
        """The SELECT, with NUMERICs sent as integer ``"units"`` or as ``"doubles"``."""
        selected = []
        for name, expr in columns.items():
            kind = kinds[name]
            if kind == "timestamp":
                selected.append((expr if pg else epoch_seconds(expr)).label(name))
            elif kind == "int":
                selected.append(sa.cast(expr, sa.BigInteger).label(name))
            elif kind == "decimal" and decimals == "units":
                selected.append(decimal_units_sql(expr).label(name))
            else:
                selected.append(as_float(expr).label(name))
        return sa.select(*selected).select_from(trades).where(where).order_by(*order_by)

    if pg:
        return _copy_decimals(conn, statement, columns, kinds)
    rows = conn.execute(statement("doubles")).all()
    out: dict[str, NDArray[Any]] = {}
    for i, (name, kind) in enumerate(kinds.items()):
        values = [r[i] for r in rows]
        if kind == "timestamp":
            micros = np.rint(np.array(values, dtype=np.float64) * 1e6).astype(np.int64)
            out[name] = micros.astype("datetime64[us]")
        elif kind == "int":
            out[name] = np.array(values, dtype=np.int64)
        else:
            out[name] = np.array(values, dtype=np.float64)
    return out


def numeric_scale(expr: sa.ColumnElement[Any]) -> int:
    """The scale s of a NUMERIC(p, s) column."""
    scale = getattr(expr.type, "scale", None)
    if scale is None:
        raise TypeError(f"{expr} is not a NUMERIC with a scale")
    return int(scale)


def decimal_units_sql(expr: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """A NUMERIC(p, s) value as the exact integer number of its 10**-s units (a BIGINT).

    On PostgreSQL this is cheaper per row than the cast to double, which prints the NUMERIC as
    text and parses it back (on the benchmark ledger the summary's fetch took about 0.1 s less
    per million rows); it overflows beyond ±2**63 units (±922,337,203 at
    scale 10), which :func:`_copy_decimals` catches.
    """
    factor = sa.literal_column(str(10 ** numeric_scale(expr)), sa.Numeric)
    return sa.cast(expr * factor, sa.BigInteger)


def units_to_float(units: NDArray[np.int64], scale: int) -> NDArray[np.float64]:
    """``units / 10**scale`` as the double nearest the decimal, which is what PostgreSQL's cast
    of the NUMERIC gives: numpy's division is correctly rounded while the int64 converts to a
    double exactly (|units| < 2**53); the rare larger ones are divided by Python's int division,
    correctly rounded for any size."""
    values = units / float(10**scale)
    big = np.flatnonzero(np.abs(units) >= 2**53)
    for i in big:
        values[i] = int(units[i]) / 10**scale
    return values


def _copy_decimals(
    conn: sa.Connection,
    statement: Callable[[str], sa.Select[Any]],
    columns: Mapping[str, sa.ColumnElement[Any]],
    kinds: Mapping[str, str],
) -> dict[str, NDArray[Any]]:
    """Binary COPY with NUMERIC columns sent as integer units (see :func:`decimal_units_sql`);
    should a value not fit a BIGINT, the COPY is rolled back to a savepoint and sent again with
    the NUMERICs cast to double instead."""
    decimals = [name for name, kind in kinds.items() if kind == "decimal"]
    as_doubles = {name: "float" if kind == "decimal" else kind for name, kind in kinds.items()}
    if not decimals:
        return _copy_binary(conn, statement("doubles"), as_doubles)
    import psycopg2.errors

    as_units = {name: "int" if kind == "decimal" else kind for name, kind in kinds.items()}
    try:
        with conn.begin_nested():
            out = _copy_binary(conn, statement("units"), as_units)
    except psycopg2.errors.NumericValueOutOfRange:
        return _copy_binary(conn, statement("doubles"), as_doubles)
    for name in decimals:
        out[name] = units_to_float(out[name], numeric_scale(columns[name]))
    return out


# PostgreSQL binary COPY framing: 11-byte signature, 4-byte flags, 4-byte extension length,
# then per row a 2-byte field count and per field a 4-byte length + data; 2-byte trailer.
_COPY_HEADER = 19
_COPY_TRAILER = 2
# PostgreSQL's own epoch for timestamps (binary COPY sends microseconds since it).
_PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")


def _copy_binary(
    conn: sa.Connection, stmt: sa.Select[Any], kinds: Mapping[str, str]
) -> dict[str, NDArray[Any]]:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    dbapi_conn: Any = conn.connection.dbapi_connection
    cursor = dbapi_conn.cursor()
    try:
        # mogrify inlines the parameters exactly as psycopg2 would send them: COPY takes no binds.
        query = cursor.mogrify(compiled.string, compiled.params).decode(dbapi_conn.encoding)
        buf = io.BytesIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buf)
    finally:
        cursor.close()
    data = buf.getbuffer()
    fields = [("n", ">i2")]
    for i, kind in enumerate(kinds.values()):
        fields += [(f"len{i}", ">i4"), (f"val{i}", ">f8" if kind == "float" else ">i8")]
    row_type = np.dtype(fields)
    body = len(data) - _COPY_HEADER - _COPY_TRAILER
    if body % row_type.itemsize:
        raise ValueError("unexpected binary COPY layout (a NULL where none may be?)")
    rows = np.frombuffer(data, dtype=row_type, offset=_COPY_HEADER, count=body // row_type.itemsize)
    out: dict[str, NDArray[Any]] = {}
    for i, (name, kind) in enumerate(kinds.items()):
        if len(rows) and not (rows[f"len{i}"] == 8).all():
            raise ValueError(f"column {name!r} has NULLs or is not 8 bytes wide")
        values = rows[f"val{i}"]
        if kind == "timestamp":
            out[name] = _PG_EPOCH + values.astype(np.int64).astype("timedelta64[us]")
        else:
            out[name] = values.astype(np.float64 if kind == "float" else np.int64)
    return out


def percentiles(
    conn: sa.Connection,
    columns: Mapping[str, sa.ColumnElement[Any]],
    quantiles: Sequence[float],
    *,
    where: sa.ColumnElement[bool],
    aggregates: Sequence[sa.ColumnElement[Any]] = (),
) -> tuple[list[Any], dict[str, list[float | None]]]:
    """Linear-interpolated percentiles of each column's non-NULL values (Nones when none), and
    the values of the other ``aggregates`` over the same rows.

    PostgreSQL computes everything in one statement: ``percentile_cont`` (one sort per column,
    shared by its quantiles) next to the plain aggregates, one scan. SQLite has no percentile
    function, so there each column is fetched and numpy's 'linear' method — percentile_cont's
    definition — does it.
    """
    k = len(quantiles)
    if conn.dialect.name == "postgresql":
        exprs = [
            sa.func.percentile_cont(q).within_group(as_float(column))
            for column in columns.values()
            for q in quantiles
        ]
        row = list(conn.execute(sa.select(*aggregates, *exprs).where(where)).one())
        values, cuts = row[: len(aggregates)], row[len(aggregates) :]
        return values, {
            name: [None if v is None else float(v) for v in cuts[i * k : (i + 1) * k]]
            for i, name in enumerate(columns)
        }
    values = list(conn.execute(sa.select(*aggregates).where(where)).one()) if aggregates else []
    result: dict[str, list[float | None]] = {}
    for name, column in columns.items():
        data = fetch_columns(conn, {name: column}, where=sa.and_(where, column.is_not(None)))[name]
        if data.size == 0:
            result[name] = [None] * k
        else:
            cuts_np = np.percentile(data, [q * 100 for q in quantiles], method="linear")
            result[name] = [float(v) for v in cuts_np]
    return values, result
