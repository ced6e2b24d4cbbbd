"""``tribar tune run`` end to end, offline, on the bundled candles: a real model study, a real
Freqtrade hyperopt and real held-back backtests (tune-small.json: two pairs, short windows).

The parameters "in service" at the start enter on P(take-profit) >= 0.3 without the regime
filter and tune-small.json turns the edge gate off: a configuration that trades, so the
held-back backtests have trades to judge (with the shipped gate they stay flat)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tribar.testing.fake_telegram import FailureMode, FakeTelegramServer
from tribar.testing.replay_bot import free_port

pytestmark = pytest.mark.freqtrade

REPO = Path(__file__).resolve().parents[2]
IN_SERVICE = {"buy": {"entry_threshold": 0.3, "min_edge": 0.0, "use_regime_filter": False}}


def _setup(tmp_path: Path, rule: dict[str, Any], telegram: FakeTelegramServer) -> dict[str, Path]:
    strategy_file = tmp_path / "strategies" / "TripleBarrierML.json"
    strategy_file.parent.mkdir()
    strategy_file.write_text(json.dumps({"strategy_name": "TripleBarrierML", "params": IN_SERVICE}))
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps({"tribar": {"tune": {"promotion": rule}}}))
    return {"strategy": strategy_file, "rule": rule_file, "tuning": tmp_path / "tuning"}


def _tune(
    paths: dict[str, Path], telegram: FakeTelegramServer, *command: str,
    env: dict[str, str] | None = None,
) -> Any:  # fmt: skip
    env = {**os.environ, **telegram.freqtrade_env(), **(env or {})}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tribar.cli",
            "tune",
            *command,
            "--tuning-dir",
            str(paths["tuning"]),
            "--strategy-file",
            str(paths["strategy"]),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _run(
    paths: dict[str, Path], telegram: FakeTelegramServer, *extra: str,
    env: dict[str, str] | None = None,
) -> Any:  # fmt: skip
    return _tune(
        paths, telegram, "run", "-c", "config.json", "-c", "tests/tuning/tune-small.json",
        "-c", str(paths["rule"]), "--days", "30", "--holdout-days", "14", "--end", "2025-06-01",
        "--trials", "3", "--epochs", "3", "-j", "2", "--seed", "11", *extra, env=env,
    )  # fmt: skip


def _history(paths: dict[str, Path], telegram: FakeTelegramServer) -> list[dict[str, Any]]:
    out = _tune(paths, telegram, "history", "--json")
    assert out.returncode == 0, out.stderr
    entries: list[dict[str, Any]] = json.loads(out.stdout)
    return entries


def test_a_rejected_candidate_writes_no_parameters_and_is_announced(
    tmp_path: Path, fake_telegram: FakeTelegramServer
) -> None:
    paths = _setup(tmp_path, {"min_trades": 100000}, fake_telegram)
    before = paths["strategy"].read_text()
    result = _run(paths, fake_telegram)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert paths["strategy"].read_text() == before
    assert not (paths["tuning"] / "tuned-config.json").exists()
    [entry] = _history(paths, fake_telegram)
    assert entry["action"] == "rejected" and "100000 needed" in entry["reason"]
    figures = entry["figures"]
    assert figures["window"] == {"tuning": "20250418-20250518", "held_back": "20250518-20250601"}
    assert figures["study"]["trials"] >= 3 and figures["hyperopt"]["epochs"] == 3
    # The candidate is the study's best design, with its own FreqAI identifier.
    overlay = entry["parameters"]["config_overlay"]["freqai"]
    assert overlay["identifier"].startswith("tune-test-tuned-")
    assert (
        overlay["feature_parameters"]["label_period_candles"]
        == figures["study"]["params"]["horizon"]
    )
    message = fake_telegram.wait_for_text("tribar tune: not promoted", timeout=10)
    assert "held-back Sharpe" in message.text and "100000 needed" in message.text


def test_a_promoted_candidate_is_put_in_service_and_rolled_back(
    tmp_path: Path, fake_telegram: FakeTelegramServer
) -> None:
    # A rule that promotes any candidate with a trade: the promotion path, not its judgement
    # (tests/tuning/test_promotion.py tests the gate both ways).
    rule = {"min_trades": 1, "min_sharpe_gain": -1000.0, "max_drawdown_worsening": 1.0}
    paths = _setup(tmp_path, rule, fake_telegram)
    fake_telegram.set_failure(FailureMode.HTTP_500)  # a failing Telegram never fails the job
    # Nor does a bot that is not there: --reload to a port nothing listens on.
    closed = free_port()
    result = _run(
        paths, fake_telegram, "-c", "config.api.json", "--reload",
        # Freqtrade's config schema wants a password whenever api_server is enabled.
        env={"FREQTRADE__API_SERVER__LISTEN_PORT": str(closed),
             "FREQTRADE__API_SERVER__PASSWORD": "unused"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Telegram" in result.stdout + result.stderr
    assert f"the bot at http://127.0.0.1:{closed} did not reload" in result.stderr
    entries = _history(paths, fake_telegram)
    assert [e["action"] for e in entries] == ["baseline", "promoted"], entries[-1]["reason"]
    promoted = entries[-1]
    assert promoted["figures"]["held_back_candidate"]["trades"] >= 1
    in_service = json.loads(paths["strategy"].read_text())
    assert in_service["strategy_name"] == "TripleBarrierML"
    study = promoted["figures"]["study"]["params"]
    assert in_service["params"]["buy"]["k_tp"] == study["k_tp"]
    assert in_service["params"]["buy"]["k_sl"] == study["k_sl"]
    overlay = json.loads((paths["tuning"] / "tuned-config.json").read_text())
    assert overlay == promoted["parameters"]["config_overlay"]

    back = _tune(paths, fake_telegram, "rollback")
    assert back.returncode == 0, back.stderr
    assert json.loads(paths["strategy"].read_text())["params"] == IN_SERVICE
    assert json.loads((paths["tuning"] / "tuned-config.json").read_text()) == {}
    assert [e["action"] for e in _history(paths, fake_telegram)][-1] == "rollback"


def test_a_second_run_waits_for_no_one_while_the_lock_is_held(
    tmp_path: Path, fake_telegram: FakeTelegramServer
) -> None:
    paths = _setup(tmp_path, {}, fake_telegram)
    lock_file = paths["tuning"] / "runs" / "tune.lock"
    lock_file.parent.mkdir(parents=True)
    with FileLock(str(lock_file)):
        result = _run(paths, fake_telegram)
    assert result.returncode == 3
    assert "another tribar tune run holds" in result.stderr
    assert not (paths["tuning"] / "history").exists()
