"""A ledger of synthetic trades plus hand-made edge cases, on SQLite and on the real PostgreSQL.

The PostgreSQL connections use a non-UTC session time zone on purpose: hour/weekday/day must
still come out in UTC (a missing ``AT TIME ZONE 'UTC'`` would shift every bucket).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
import sqlalchemy as sa

from tribar.analysis.analytics.synthetic import insert_trades, make_trades
from tribar.analysis.ledger.schema import metadata
from tribar.testing.postgres import PostgresServer

SESSION_TZ = "America/New_York"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Ledger:
    backend: str
    url: str
    engine: sa.Engine
    frame: pd.DataFrame


def edge_rows(template: pd.DataFrame) -> pd.DataFrame:
    """Boundary cases the random trades are unlikely to hit exactly."""
    base = template.iloc[:8].copy().reset_index(drop=True)
    base["trade_id"] = [f"edge-{i}" for i in range(len(base))]
    # Sunday 23:59:59.999999 and Monday 00:00:00 UTC: hour 23/weekday 6 vs hour 0/weekday 0,
    # and two different UTC days. The next two close in the very same microsecond (order by id).
    stamps = [
        datetime(2025, 2, 2, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 2, 3, 0, 0, 0, tzinfo=UTC),
        datetime(2025, 2, 10, 12, 0, 0, tzinfo=UTC),
        datetime(2025, 2, 10, 12, 0, 0, tzinfo=UTC),
        datetime(2025, 3, 1, 6, 30, tzinfo=UTC),
        datetime(2025, 3, 1, 7, 30, tzinfo=UTC),
        datetime(2025, 3, 2, 8, 30, tzinfo=UTC),
        datetime(2025, 3, 3, 9, 30, tzinfo=UTC),
    ]
    base["timestamp"] = pd.to_datetime(stamps, utc=True).as_unit("us")
    base["exit_time"] = base["timestamp"]
    base["entry_time"] = base["timestamp"] - pd.Timedelta(hours=1)
    # Confidence on bucket edges: 0, exactly 1 (joins the top bucket), 0.3 (0.3*10 is
    # 3.0000000000000004 in doubles), 0.5; and one NULL.
    base["model_confidence"] = [0.0, 1.0, 0.3, 0.5, None, 0.7, 0.2, 0.9]
    # A break-even trade: neither a win nor a loss, but a trade.
    base.loc[4, ["pnl_usdt", "commission", "net_pnl"]] = [0.25, 0.25, 0.0]
    # The tied pair: a large loss then a gain in the same microsecond.
    base.loc[2, ["pnl_usdt", "commission", "net_pnl"]] = [-40.0, 0.1, -40.1]
    base.loc[3, ["pnl_usdt", "commission", "net_pnl"]] = [35.0, 0.1, 34.9]
    return base


def ledger_frame() -> pd.DataFrame:
    synthetic = make_trades(600, seed=11, days=60, start=datetime(2025, 1, 15, tzinfo=UTC))
    return pd.concat([synthetic, edge_rows(synthetic)], ignore_index=True)


@contextmanager
def admin_cursor(server: PostgresServer) -> Iterator[psycopg2.extensions.cursor]:
    if not server.is_running():
        server.start()
    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def pg_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args={"options": f"-c timezone={SESSION_TZ}"}
    )


@pytest.fixture(scope="module", params=BACKENDS)
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    """The loaded ledger, read-only for the tests (module-scoped: loading once keeps it fast)."""
    frame = ledger_frame()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        insert_trades(engine, frame)
        yield Ledger("sqlite", url, engine, frame)
        engine.dispose()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"a_{uuid.uuid4().hex[:12]}"
    with admin_cursor(server) as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{server.user}@127.0.0.1:{server.port}/{name}"
    engine = pg_engine(url)
    metadata.create_all(engine)
    insert_trades(engine, frame)
    yield Ledger("postgresql", url, engine, frame)
    engine.dispose()
    with admin_cursor(server) as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A ledger with the tables and no trade (the state right after installation)."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    else:
        engine = pg_engine(request.getfixturevalue("postgres_url"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()
