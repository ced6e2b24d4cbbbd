"""`tribar paper --replay … --resume`: the run folder a restarted bot continues on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tribar.cli import build_parser
from tribar.paper.errors import ReplayError
from tribar.paper.replay import (
    OVERRIDES_NAME,
    REPLAY_DB_NAME,
    STATUS_NAME,
    ReplayOptions,
    prepare_run_dir,
)


def _options(run_dir: Path, fresh: bool) -> ReplayOptions:
    start, end = datetime(2025, 6, 3, tzinfo=UTC), datetime(2025, 6, 4, tzinfo=UTC)
    return ReplayOptions(start, end, ["config.json"], run_dir, fresh=fresh)


def _earlier_run(run_dir: Path) -> None:
    run_dir.mkdir()
    for name in (OVERRIDES_NAME, REPLAY_DB_NAME, STATUS_NAME):
        (run_dir / name).write_text("{}")


def test_resume_keeps_the_database_and_drops_the_finished_status(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _earlier_run(run_dir)
    prepare_run_dir(_options(run_dir, fresh=False))
    assert (run_dir / REPLAY_DB_NAME).is_file()
    assert not (run_dir / STATUS_NAME).exists()


def test_without_resume_the_folder_starts_afresh(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _earlier_run(run_dir)
    prepare_run_dir(_options(run_dir, fresh=True))
    assert run_dir.is_dir() and not any(run_dir.iterdir())


def test_resume_refuses_a_folder_that_is_not_a_replay(tmp_path: Path) -> None:
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    (run_dir / "precious.txt").write_text("x")
    with pytest.raises(ReplayError, match="not a replay folder"):
        prepare_run_dir(_options(run_dir, fresh=False))
    assert (run_dir / "precious.txt").is_file()


def test_the_cli_flag_maps_to_fresh() -> None:
    args = build_parser().parse_args(["paper", "--replay", "20250603..20250604", "--resume"])
    assert args.resume is True
    args = build_parser().parse_args(["paper", "--replay", "20250603..20250604"])
    assert args.resume is False
