"""`tribar risk status|reset` against real databases, through the console script's main()."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tribar.cli import main
from tribar.risk.circuit_breaker import Halt
from tribar.risk.state import STATE_KEY, RiskState
from tribar.risk.store import RESET_KEY, RiskStateStore
from tribar.risk_cli import resolve_db_url

NOW = datetime.now(UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trades.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _status(db_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["risk", "status", "--db-url", db_url, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_of_a_database_without_state(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["risk", "status", "--db-url", db_url])
    assert code == 0
    assert "nothing stored yet" in capsys.readouterr().out
    assert not RiskStateStore.from_url(db_url).table_exists()  # status never writes


def test_status_shows_halts_peak_and_expired_halts(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RiskStateStore.from_url(db_url)
    dd = Halt("drawdown", "drawdown 16% from peak 1200", NOW - timedelta(hours=3), None)
    daily = Halt("daily_loss", "loss 60", NOW - timedelta(hours=5), NOW - timedelta(hours=1))
    store.save_state(RiskState(1200.0, (dd, daily), NOW.date()))
    code, doc = _status(db_url, capsys)
    assert code == 0 and doc["state"] == "halted" and doc["equity_peak"] == 1200.0
    assert [(h["key"], h["expired"]) for h in doc["halts"]] == [
        ("drawdown", False),
        ("daily_loss", True),
    ]
    main(["risk", "status", "--db-url", db_url])
    text = capsys.readouterr().out
    assert "HALTED" in text and "1200.00" in text and "manual reset" in text and "expired" in text

    store.save_state(RiskState(1200.0, (daily,), NOW.date()))
    code, doc = _status(db_url, capsys)
    assert doc["state"] == "active"  # only an expired halt is left
    store.dispose()


def test_reset_records_a_request_the_status_shows(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["risk", "reset", "--reason", "checked the account", "--db-url", db_url]) == 0
    assert "next loop" in capsys.readouterr().out
    code, doc = _status(db_url, capsys)
    assert code == 0 and doc["pending_reset"]["reason"] == "checked the account"
    store = RiskStateStore.from_url(db_url)
    request = store.pending_reset()
    assert request is not None and request.reason == "checked the account"
    store.dispose()


def test_reset_needs_a_reason(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["risk", "reset", "--reason", "  ", "--db-url", db_url]) == 2
    assert "--reason" in capsys.readouterr().err


def test_corrupt_rows_are_named_and_exit_1(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = RiskStateStore.from_url(db_url)
    store._put(STATE_KEY, '{"version": 1, "halts": [{"key": "x"}]}')
    store._put(RESET_KEY, "garbage")
    code = main(["risk", "status", "--db-url", db_url])
    out = capsys.readouterr().out
    assert code == 1
    assert f"CORRUPT: key {STATE_KEY!r}: halts[0]" in out
    assert f"CORRUPT: key {RESET_KEY!r}" in out
    store.dispose()


def test_unreachable_database_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    assert main(["risk", "status", "--db-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tribar risk status: cannot") and "127.0.0.1:1" in err


def test_db_url_comes_from_the_config_like_freqtrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FREQTRADE__DB_URL", raising=False)
    config = tmp_path / "bot.json"
    config.write_text(json.dumps({"db_url": "sqlite:///from-config.sqlite"}))
    assert resolve_db_url(None, [str(config)]) == "sqlite:///from-config.sqlite"
    assert resolve_db_url("sqlite:///flag.sqlite", [str(config)]) == "sqlite:///flag.sqlite"
    monkeypatch.setenv("FREQTRADE__DB_URL", "sqlite:///from-env.sqlite")
    assert resolve_db_url(None, [str(config)]) == "sqlite:///from-env.sqlite"
    monkeypatch.delenv("FREQTRADE__DB_URL")
    live = tmp_path / "live.json"
    live.write_text(json.dumps({"dry_run": False}))
    assert resolve_db_url(None, [str(live)]) == "sqlite:///tradesv3.sqlite"
    dry = tmp_path / "dry.json"
    dry.write_text(json.dumps({"dry_run": True}))
    assert resolve_db_url(None, [str(dry)]) == "sqlite:///tradesv3.dryrun.sqlite"


def test_missing_config_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["risk", "status", "-c", "/nonexistent/bot.json"]) == 2
    assert "/nonexistent/bot.json" in capsys.readouterr().err
