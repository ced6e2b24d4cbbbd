"""Issue #14 in a replayed `freqtrade trade` bot: the champion/challenger gate, `tribar models`
pin and rollback, the fallback for a damaged model file and the registry across restarts.

One bot (`tribar paper --replay`, one pair, live retraining every 6 simulated hours, the gate on
with a holdout-AUC floor of 0.9; tests/lifecycle/replay-challenger.json) on one run folder,
started four times:

1. 06-01 00:00 .. 13:00, fresh: three trainings. The first model (true labels) serves; the next
   two candidates (TripleBarrierLGBMShuffledAfterFirst: booster trained on shuffled labels) are
   rejected by the floor, v1 keeps serving, the rejection reaches Telegram through dp.send_msg.
   Stopped; `tribar models pin BTC/USDT 2`.
2. 13:00 .. 19:30, --resume: the bot serves v2 from its first candle; its training is rejected
   because v2 is pinned, and FreqAI saves and serves v2. Stopped; `tribar models rollback`.
3. 19:30 .. 06-02 02:00, --resume: v1 serves again from the first candle (FreqAI's saved model
   was v2); its training keeps v1 (pinned). Stopped; v1's model files are truncated: FreqAI's
   (the one it loads on start) and the registry's copy.
4. 02:00 .. 04:00, --resume: the bot names the damaged file, falls back to the previous version
   that served (v2) and keeps running.

The features include the row's own label (TripleBarrierMLLabelHint, see its docstring): the
bundled candles give models without edge, where shuffled labels would change nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from tribar.ml.registry import REGISTRY_DIR, ModelRegistry
from tribar.testing.fake_telegram import FakeTelegramServer
from tribar.testing.replay_bot import REPO_ROOT, ReplayBot

pytestmark = pytest.mark.freqtrade

PAIR = "BTC/USDT"
LAYER = "tests/lifecycle/replay-challenger.json"
IDENTIFIER = json.loads((REPO_ROOT / LAYER).read_text())["freqai"]["identifier"]
CONFIGS = ("config.json", "config.api.json", LAYER)
ARGS = (
    "--strategy", "TripleBarrierMLLabelHint", "--strategy-path", "tests/fixtures/strategies",
    "--freqaimodel-path", "tests/fixtures/freqaimodels", "--step", "900",
)  # fmt: skip
# The four legs take about 1.5 min together on 2 cores; the bound only stops a hung replay.
LEG_TIMEOUT = 600
FLOOR = "below the floor 0.900"


@dataclass
class Leg:
    log: str  # this leg's part of freqtrade.log
    registry: dict[str, Any]  # the pair's registry file after the leg
    folder: str  # FreqAI's model folder for the pair (pair_dictionary.json) after the leg
    saved_version: int | None  # registry version of the model FreqAI saved there (None: unreadable)
    saved_metrics: dict[str, Any]  # tribar_metrics.json of that folder
    api_ping: Any = None
    telegram: list[str] = field(default_factory=list)  # messages sent during the leg


@dataclass
class Run:
    run_dir: Path
    legs: dict[str, Leg]
    cli: dict[str, subprocess.CompletedProcess[str]]
    truncated: list[Path]
    seconds: float


def _models_dir(run_dir: Path) -> Path:
    return run_dir / "models" / IDENTIFIER


def _registry(run_dir: Path) -> ModelRegistry:
    return ModelRegistry(_models_dir(run_dir) / REGISTRY_DIR)


def _served_file(run_dir: Path) -> Path:
    """The model file FreqAI loads for the pair on start (its newest training's folder)."""
    info = json.loads((_models_dir(run_dir) / "pair_dictionary.json").read_text())[PAIR]
    return Path(info["data_path"]) / f"{info['model_filename']}_model.joblib"


def _saved_version(path: Path) -> int | None:
    try:
        with path.open("rb") as fh:
            return int(cloudpickle.load(fh).metrics["registry_version"])
    except Exception:
        return None


def tribar_models(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tribar models …` as an operator runs it, against the bot's user data folder."""
    return subprocess.run(
        [sys.executable, "-m", "tribar.cli", "models", *args, "--userdir", str(run_dir),
         "-c", LAYER],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _leg(
    replay: str, run_dir: Path, telegram: FakeTelegramServer, resume: bool,
    while_running: Callable[[ReplayBot], None] | None = None,
) -> Leg:  # fmt: skip
    log_file = run_dir / "freqtrade.log"
    offset = len(log_file.read_text(errors="replace")) if log_file.exists() else 0
    sent_before = len(telegram.messages)
    extra = ARGS + (("--resume",) if resume else ())
    bot = ReplayBot(replay, run_dir, configs=CONFIGS, extra_args=extra,
                    env=telegram.freqtrade_env())  # fmt: skip
    bot.start()
    ping = None
    try:
        bot.wait_until_finished(LEG_TIMEOUT)
        if while_running is not None:
            while_running(bot)
        # The loop is still alive on the stopped clock: the REST API answers.
        ping = bot.client().ping()
    finally:
        code = bot.stop()
    assert code == 0, f"replay bot exited with {code}: {bot.tail()}"
    served = _served_file(run_dir)
    return Leg(
        log=log_file.read_text(errors="replace")[offset:],
        registry=_registry(run_dir).load(PAIR),
        folder=served.parent.name,
        saved_version=_saved_version(served),
        saved_metrics=json.loads((served.parent / "tribar_metrics.json").read_text()),
        api_ping=ping,
        telegram=[m.text for m in telegram.messages[sent_before:]],
    )


def _wait_for_rejection_message(telegram: FakeTelegramServer) -> Callable[[ReplayBot], None]:
    def wait(bot: ReplayBot) -> None:
        telegram.wait_for_text("new model v2 rejected", timeout=60)

    return wait


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    run_dir = Path(tmp_path_factory.mktemp("lifecycle-replay")) / "run"
    started = time.monotonic()
    legs: dict[str, Leg] = {}
    cli: dict[str, subprocess.CompletedProcess[str]] = {}
    with FakeTelegramServer() as telegram:
        legs["first"] = _leg("20250601..2025-06-01T13:00", run_dir, telegram, resume=False,
                             while_running=_wait_for_rejection_message(telegram))  # fmt: skip
        cli["list"] = tribar_models(run_dir, "list")
        cli["show"] = tribar_models(run_dir, "show", PAIR, "--json")
        cli["pin"] = tribar_models(run_dir, "pin", PAIR, "2")
        legs["pinned"] = _leg("2025-06-01T13:00..2025-06-01T19:30", run_dir, telegram, True)
        cli["rollback"] = tribar_models(run_dir, "rollback", PAIR)
        cli["list_after_rollback"] = tribar_models(run_dir, "list")
        legs["rolled_back"] = _leg("2025-06-01T19:30..2025-06-02T02:00", run_dir, telegram, True)
        # Damage the model in service everywhere it is kept: FreqAI's file and the registry's copy.
        serving = int(legs["rolled_back"].registry["serving"])
        registry_copy = _registry(run_dir).version_dir(PAIR, serving) / "model.joblib"
        truncated = [_served_file(run_dir), registry_copy]
        for path in truncated:
            path.write_bytes(path.read_bytes()[:64])
        legs["damaged"] = _leg("2025-06-02T02:00..2025-06-02T04:00", run_dir, telegram, True)
    yield Run(run_dir, legs, cli, truncated, time.monotonic() - started)


def _versions(leg: Leg) -> dict[int, dict[str, Any]]:
    return {int(e["version"]): e for e in leg.registry["versions"]}


def _after(text: str, marker: str) -> str:
    index = text.find(marker)
    assert index >= 0, f"{marker!r} not in the log"
    return text[index:]


def test_the_shuffled_candidates_are_rejected_and_the_first_model_keeps_serving(run: Run) -> None:
    leg = run.legs["first"]
    versions = _versions(leg)
    # Live retraining happened at least twice after the first training.
    assert len(versions) >= 3, leg.log[-3000:]
    first, *later = (versions[v] for v in sorted(versions))
    assert first["decision"]["accepted"] is True and first["decision"]["incumbent_version"] is None
    assert first["metrics"]["out_of_sample"]["auc"] >= 0.9
    assert "model v1 serving" in leg.log
    for entry in later:
        decision = entry["decision"]
        assert entry["status"] == "rejected" and decision["accepted"] is False, entry
        assert decision["incumbent_version"] == 1
        assert decision["candidate"]["auc"] < 0.9
        assert any(FLOOR in reason for reason in decision["reasons"]), decision["reasons"]
        # The candidates really were trained on shuffled labels (the fixture says so).
        assert f"new model v{entry['version']} rejected (holdout AUC" in leg.log
    assert leg.registry["serving"] == 1 and leg.registry["pinned"] is None
    assert first["status"] == "serving"
    assert leg.log.count("test fixture: training the booster on") == len(later)
    kept = r"new model v2 rejected \(.*\); v1 \(trained to [^)]*\) keeps serving"
    assert re.search(kept, leg.log)


def test_after_a_rejection_the_bots_predictions_come_from_the_incumbent(run: Run) -> None:
    leg = run.legs["first"]
    versions = _versions(leg)
    newest = versions[max(versions)]
    # FreqAI's record: the newest training's folder is the one it serves from, and the model
    # it saved there is v1, not the candidate trained in that folder.
    assert leg.folder == newest["training_folder"]
    assert leg.saved_version == 1
    assert leg.saved_metrics["serving_version"] == 1
    assert leg.saved_metrics["challenger"]["accepted"] is False
    # The bot's predictions after each rejection: from v1, loaded from the new training's folder.
    for entry in versions.values():
        if entry["version"] == 1:
            continue
        after = _after(leg.log, f"new model v{entry['version']} rejected")
        assert (
            f"live predictions from registry v1 (FreqAI's model folder "
            f"{entry['training_folder']})" in after
        ), after[:3000]
    assert "live predictions from registry v2" not in leg.log
    assert "live predictions from registry v3" not in leg.log


def test_the_rejection_reached_telegram_through_send_msg(run: Run) -> None:
    leg = run.legs["first"]
    assert "Sending rpc strategy_msg: tribar: BTC/USDT new model v2 rejected" in leg.log
    rejected = [t for t in leg.telegram if "new model v2 rejected" in t]
    assert rejected, leg.telegram
    assert FLOOR in rejected[0] and "v1 (trained to" in rejected[0]
    assert "keeps serving" in rejected[0]


def test_tribar_models_list_and_show_read_the_bots_registry(run: Run) -> None:
    listed, shown = run.cli["list"], run.cli["show"]
    assert listed.returncode == 0, listed.stderr
    n = len(run.legs["first"].registry["versions"])
    # pair, serving, pinned, versions, rejected
    assert re.search(rf"BTC/USDT\s*│\s*v1\s*│\s*-\s*│\s*{n}\s*│\s*{n - 1}\s*│", listed.stdout), (
        listed.stdout
    )
    assert shown.returncode == 0, shown.stderr
    assert "BTC/USDT: serving v1, pinned -" in shown.stdout
    assert re.search(r"v2\s*│\s*rejected", shown.stdout) and "below the floor" in shown.stdout


def test_a_pin_set_while_stopped_serves_from_the_first_candle_after_the_restart(run: Run) -> None:
    assert run.cli["pin"].returncode == 0, run.cli["pin"].stderr
    assert "v2 pinned and serving" in run.cli["pin"].stdout
    leg = run.legs["pinned"]
    # The restarted bot loaded FreqAI's saved model (v1) and swapped to the pinned v2.
    assert "serving registry v2 (was v1), as `tribar models` set" in leg.log, leg.log[-3000:]
    assert "live predictions from registry v2" in leg.log
    assert "live predictions from registry v1" not in leg.log
    # The registry survived the restart: the first leg's versions as they were, numbering on.
    before, after = _versions(run.legs["first"]), _versions(leg)
    for version, entry in before.items():
        assert after[version]["decision"] == entry["decision"]
        assert after[version]["train_end"] == entry["train_end"]
    new = [after[v] for v in sorted(after) if v not in before]
    assert new, "no training in the second leg"
    for entry in new:
        assert entry["status"] == "rejected"
        assert "v2 is pinned" in entry["decision"]["reasons"]
    assert (leg.registry["serving"], leg.registry["pinned"]) == (2, 2)
    # FreqAI saved (and serves) the pinned v2 under the new training's folder.
    assert leg.folder == new[-1]["training_folder"] and leg.saved_version == 2
    assert any(f"new model v{new[0]['version']} rejected" in t and "v2 (trained to" in t
               for t in leg.telegram), leg.telegram  # fmt: skip


def test_a_rollback_while_stopped_serves_the_previous_version_after_the_restart(run: Run) -> None:
    rollback = run.cli["rollback"]
    assert rollback.returncode == 0, rollback.stderr
    assert "rolled back from v2 to v1" in rollback.stdout
    assert re.search(r"BTC/USDT\s*│\s*v1\s*│\s*v1\s*│", run.cli["list_after_rollback"].stdout)
    leg = run.legs["rolled_back"]
    # FreqAI's saved model was v2 (second leg); the registry's choice v1 serves from the start.
    assert "serving registry v1 (was v2), as `tribar models` set" in leg.log, leg.log[-3000:]
    assert "live predictions from registry v1" in leg.log
    assert "live predictions from registry v2" not in leg.log
    new = [e for v, e in _versions(leg).items() if v not in _versions(run.legs["pinned"])]
    assert new and all("v1 is pinned" in e["decision"]["reasons"] for e in new)
    assert (leg.registry["serving"], leg.registry["pinned"]) == (1, 1)
    assert leg.saved_version == 1


def test_a_truncated_model_file_falls_back_to_the_previous_good_version(run: Run) -> None:
    leg = run.legs["damaged"]
    freqai_file, registry_copy = run.truncated
    # The damaged file is named, then the registry's copy of the same version fails too.
    assert re.search(
        r"BTC/USDT: model in service unreadable \(.*" + re.escape(str(freqai_file)), leg.log
    ), leg.log[-3000:]
    assert "fallback v1 unreadable too" in leg.log and str(registry_copy.parent) in leg.log
    assert re.search(r"BTC/USDT: serving registry v2 \(trained \S+ \S+ to \S+ \S+\) instead",
                     leg.log), leg.log[-3000:]  # fmt: skip
    assert "live predictions from registry v2" in leg.log
    # The loop kept running: candles after the fallback, the end of the range, the API.
    assert leg.api_ping == {"status": "pong"}
    assert "2025-06-02 03:" in _after(leg.log, "serving registry v2")
    assert "Traceback" not in leg.log
    assert leg.saved_version is None  # FreqAI's file is still the damaged one
