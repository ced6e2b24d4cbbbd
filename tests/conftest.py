"""Shared fixtures. ``postgres_server`` is a real PostgreSQL (see tribar.testing.postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tribar.testing.fake_telegram import FakeTelegramServer
from tribar.testing.postgres import PostgresServer
from tribar.ui import InstallResult, install_frequi

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


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegramServer]:
    """A fake Telegram Bot API server on 127.0.0.1 (tribar.testing.fake_telegram). Point a bot at
    it with ``fake_telegram.freqtrade_env()`` (subprocess) or ``.freqtrade_config()``."""
    with FakeTelegramServer() as server:
        yield server


@pytest.fixture(scope="session")
def frequi_installed() -> InstallResult:
    """FreqUI in the installed Freqtrade's UI folder, from the bundled build (``tribar ui
    install``; idempotent, offline), so a fresh clone's bots serve it."""
    return install_frequi()
