"""Ledger fixtures: a migrated ledger on SQLite and on the real PostgreSQL, a real backtest."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tribar.analysis.ledger.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Path(__import__("freqtrade").__file__).parent / "templates"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger at the head revision, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


@pytest.fixture
def pg_ledger_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def backtest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding one real Freqtrade backtest result (zip + meta), made offline."""
    out = tmp_path_factory.mktemp("backtest_results")
    cmd = [
        sys.executable, "-m", "tribar.cli", "ft", "backtesting", "-c", "config.json",
        "--strategy", "SampleStrategy", "--strategy-path", str(TEMPLATES),
        "--timerange", "20250101-20250601", "--export", "trades",
        "--backtest-directory", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list(out.glob("*.zip")), f"no backtest result in {out}: {proc.stdout[-2000:]}"
    return out


@pytest.fixture
def ft_db(tmp_path: Path) -> Iterator[str]:
    """A fresh Freqtrade trades DB (Freqtrade's persistence points at it for the test)."""
    from freqtrade.persistence import Trade

    from tests.ledger.ft_trades import open_trades_db

    url = open_trades_db(tmp_path / "tradesv3.sqlite")
    yield url
    Trade.session.remove()
