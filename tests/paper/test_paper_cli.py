"""`tribar paper`, `tribar paper report` and `tribar panic` refuse bad input with exit 2 and a
message naming what was wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tribar.cli import main
from tribar.paper.replay import parse_replay_range


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["paper"], "give --replay FROM..TO"),
        (["paper", "--replay", "20250601"], "takes FROM..TO"),
        (["paper", "--replay", "2025-13-01..20250602"], "FROM '2025-13-01' is not a date"),
        (["paper", "--replay", "20250602..20250601"], "TO must be after FROM"),
        (["paper", "--replay", "20250601..20250602", "-c", "missing.json"], "missing.json"),
        (["paper", "--replay", "20200101..20200102"], "does not include the replay range"),
    ],
)
def test_replay_refuses_bad_input(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_report_refuses_a_folder_that_is_not_a_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["paper", "report", "--run-dir", str(tmp_path)]) == 2
    assert "not a replay folder" in capsys.readouterr().err


def test_report_refuses_percent_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"tribar": {"paper_acceptance": {"max_drawdown": 15}}}))
    assert main(["paper", "report", "-c", "config.json", "-c", str(config)]) == 2
    assert "max_drawdown" in capsys.readouterr().err


def test_report_names_a_database_that_is_not_freqtrades(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    db = tmp_path / "other.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE trades (id INTEGER)").connection.commit()
    config = tmp_path / "db.json"
    config.write_text(json.dumps({"db_url": f"sqlite:///{db}"}))
    assert main(["paper", "report", "-c", "config.json", "-c", str(config)]) == 2
    assert "not a Freqtrade trades database" in capsys.readouterr().err


def test_replay_range_forms() -> None:
    start, end = parse_replay_range("2025-06-01T06:00..20250602")
    assert (start.hour, end.day) == (6, 2)


def test_panic_says_when_the_bot_cannot_be_reached(capsys: pytest.CaptureFixture[str]) -> None:
    from tribar.testing.replay_bot import free_port

    assert main(["panic", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "1"]) == 2
    assert "did not answer" in capsys.readouterr().err
