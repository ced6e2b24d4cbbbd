"""``tribar tune run --reload`` against a running bot: a replayed ``freqtrade trade`` process
(``tribar paper --replay … --hold``, REST API on a loopback port) runs TripleBarrierML from a
folder whose parameter file the weekly job promotes into; after the promotion the job calls
the bot's ``reload_config`` through Freqtrade's REST client and the bot loads the promoted file.
A bot that refuses or cannot be reached is logged, never an error."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tribar.testing.replay_bot import API_PASSWORD, API_USER, REPO_ROOT, ReplayBot, free_port
from tribar.tuning.notify import reload_running_bot

pytestmark = pytest.mark.freqtrade

# Entries that trade on the gate-off models (as tests/tuning/test_weekly_tune.py), and sizing
# and protection values in service that the job's buy-only hyperopt must carry into the promotion.
IN_SERVICE = {
    "buy": {"entry_threshold": 0.3, "min_edge": 0.0, "use_regime_filter": False},
    "sizing": {"sizing_kelly_multiplier": 0.8, "sizing_vol_scale_max_multiplier": 0.9},
    "protection": {"protection_cooldown_hours": 2},
}
# The promotion path, not its judgement: any candidate with a trade is promoted.
PROMOTE_ANY = {"min_trades": 1, "min_sharpe_gain": -1000.0, "max_drawdown_worsening": 1.0}
BOT_CONFIGS = ("config.json", "config.api.json", "tests/paper/replay-trading.json")
PARAMETER = re.compile(r"Strategy Parameter(?:\(default\))?: (\w+) = (\S+)")
LOADED = "Loading parameters from file"
RELOADING = "Changing state from RUNNING to: RELOAD_CONFIG"
# One replayed day; measured ~1 min to start and finish on 2 cores. The bound only stops a hang.
BOT_TIMEOUT = 600


def _log(bot: ReplayBot, since: int = 0) -> str:
    return (bot.run_dir / "freqtrade.log").read_text(errors="replace")[since:]


def _parameters(text: str) -> dict[str, str]:
    """The last value Freqtrade logged for each strategy parameter in ``text``."""
    return {m[1]: m[2] for m in PARAMETER.finditer(text)}


def _wait_for(predicate: Any, what: str, bot: ReplayBot, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        bot._check_alive()
        time.sleep(0.5)
    raise AssertionError(f"not seen within {timeout:.0f} s: {what}\n{bot.tail()}")


def _same(logged: str, value: Any) -> bool:
    if isinstance(value, bool):
        return logged == str(value)
    return abs(float(logged) - float(value)) < 1e-9


@pytest.fixture(scope="module")
def strategy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(tmp_path_factory.mktemp("bot")) / "strategies"
    folder.mkdir()
    shutil.copy2(REPO_ROOT / "strategies" / "TripleBarrierML.py", folder)
    (folder / "TripleBarrierML.json").write_text(
        json.dumps({"strategy_name": "TripleBarrierML", "params": IN_SERVICE})
    )
    return folder


@pytest.fixture(scope="module")
def bot(strategy_dir: Path) -> Iterator[ReplayBot]:
    replay = ReplayBot(
        "20250601..20250602", strategy_dir.parent / "run", configs=BOT_CONFIGS,
        extra_args=("--strategy", "TripleBarrierML", "--strategy-path", str(strategy_dir),
                    "--step", "900"),
    )  # fmt: skip
    replay.start()
    try:
        replay.wait_until_finished(BOT_TIMEOUT)
        yield replay
    finally:
        code = replay.stop()
        assert code == 0, f"replay bot exited with {code}: {replay.tail()}"


def _api(port: int, password: str = API_PASSWORD) -> dict[str, Any]:
    return {
        "api_server": {
            "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": port,
            "username": API_USER, "password": password,
        }
    }  # fmt: skip


def test_a_bot_that_refuses_or_is_not_there_is_logged_and_not_reloaded(
    bot: ReplayBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tribar.tuning.notify")
    offset = len(_log(bot))
    # The real bot, wrong credentials: Freqtrade answers 401 {"detail": "Unauthorized"}.
    assert reload_running_bot(_api(bot.api_port, password="not-the-password")) is False
    assert "did not reload" in caplog.text and "Unauthorized" in caplog.text
    # A closed port: nothing listens there.
    caplog.clear()
    closed = free_port()
    assert reload_running_bot(_api(closed), timeout=5) is False
    assert "did not reload" in caplog.text and str(closed) in caplog.text
    time.sleep(3)
    after = _log(bot, offset)
    assert RELOADING not in after and LOADED not in after, "the bot reloaded without being asked"
    assert bot.client().show_config()["state"] == "running"


def test_tune_run_reload_puts_the_promoted_parameters_into_the_running_bot(
    bot: ReplayBot, strategy_dir: Path, tmp_path: Path
) -> None:
    param_file = strategy_dir / "TripleBarrierML.json"
    started_with = _parameters(_log(bot))
    assert started_with["entry_threshold"] == "0.3" and started_with["use_regime_filter"] == "False"
    assert started_with["sizing_kelly_multiplier"] == "0.8"
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"tribar": {"tune": {"promotion": PROMOTE_ANY}}}))
    offset = len(_log(bot))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREQTRADE__")}
    env.update(
        FREQTRADE__API_SERVER__LISTEN_PORT=str(bot.api_port),
        FREQTRADE__API_SERVER__USERNAME=API_USER, FREQTRADE__API_SERVER__PASSWORD=API_PASSWORD,
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tribar.cli", "tune", "run",
         "-c", "config.json", "-c", "tests/tuning/tune-small.json", "-c", str(rule),
         "-c", "config.api.json", "--days", "30", "--holdout-days", "14", "--end", "2025-06-01",
         "--trials", "3", "--epochs", "3", "-j", "2", "--seed", "11", "--reload",
         "--tuning-dir", str(tmp_path / "tuning"), "--strategy-file", str(param_file)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "PROMOTED" in result.stdout, output[-3000:]
    assert f"the bot at http://127.0.0.1:{bot.api_port} reloads its config" in output

    promoted = json.loads(param_file.read_text())
    assert promoted["strategy_name"] == "TripleBarrierML"
    expected = {
        name: value
        for space in ("buy", "sizing", "protection")
        for name, value in (promoted["params"].get(space) or {}).items()
    }
    # Carried over unchanged from the set in service.
    for space in ("sizing", "protection"):
        assert promoted["params"][space] == IN_SERVICE[space]
    changed = {
        n for n, v in expected.items() if n in started_with and not _same(started_with[n], v)
    }
    assert changed, "the promotion changed no parameter the bot had: nothing to see reloaded"

    # Freqtrade's reload builds a new bot and strategy, which reads the promoted file.
    _wait_for(
        lambda: LOADED in _log(bot, offset)
        and set(expected) <= set(_parameters(_log(bot, offset))),
        "the promoted parameters logged after reload_config", bot,
    )  # fmt: skip
    after = _log(bot, offset)
    # Freqtrade's own reload: state RELOAD_CONFIG, a new bot and strategy, RUNNING again.
    assert RELOADING in after and "running after config reloaded" in after
    assert f"{LOADED} {param_file}" in after
    logged = _parameters(after)
    for name, value in expected.items():
        assert _same(logged[name], value), (name, logged[name], value)
    config = bot.client().show_config()
    assert config["strategy"] == "TripleBarrierML" and config["state"] == "running"
