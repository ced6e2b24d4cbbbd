"""Shared fixtures. ``postgres_server`` is a real PostgreSQL (see tribar.testing.postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tribar.testing.postgres import PostgresServer

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the session; tests that stop it must start it again before returning."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the shared server for each test."""
    import uuid

    import psycopg2

    name = f"t_{uuid.uuid4().hex[:12]}"
    if not postgres_server.is_running():
        postgres_server.start()
    conn = psycopg2.connect(
        postgres_server.dsn.replace(f"dbname={postgres_server.database}", "dbname=postgres")
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    yield f"postgresql+psycopg2://{postgres_server.user}@127.0.0.1:{postgres_server.port}/{name}"
    if postgres_server.is_running():
        conn = psycopg2.connect(
            postgres_server.dsn.replace(f"dbname={postgres_server.database}", "dbname=postgres")
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
