"""Issue #11: a drawdown halt and the equity peak survive a restart of a real `freqtrade trade`
bot and its /reload_config, and only `tribar risk reset` lifts the halt.

One replayed bot (`tribar paper --replay`, TripleBarrierMLFixedStake, a 1 % drawdown limit on a
300 USDT wallet) on one run folder and trades database, started three times:

1. 2025-06-01 .. 06-03: trades until the drawdown halt trips; stopped while halted.
2. 2025-06-03 .. 06-04 (``--resume``): halted from the first loop, no entry; peak as stored;
   /reload_config rebuilds the strategy and it is still halted; ``tribar risk reset`` while it
   runs lifts the halt, announced through ``dp.send_msg``.
3. 2025-06-04 .. 06-06 (``--resume``): entries again.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tribar.risk.manager import HALT_DRAWDOWN
from tribar.risk.store import RiskStateStore
from tribar.testing.replay_bot import REPO_ROOT, ReplayBot

pytestmark = pytest.mark.freqtrade

CONFIGS = (
    "config.json", "config.api.json", "tests/paper/replay-trading.json",
    "tests/risk_state/replay-drawdown.json",
)  # fmt: skip
ARGS = (
    "--strategy", "TripleBarrierMLFixedStake", "--strategy-path", "tests/fixtures/strategies",
    "--step", "900",
)  # fmt: skip
# Each leg takes 15-30 s on 2 cores; the bound only keeps a hung replay from hanging CI.
LEG_TIMEOUT = 600
RESTORED = "tribar risk state restored from table 'tribar_risk_state'"


def _log(run_dir: Path, since: int = 0) -> str:
    return (run_dir / "freqtrade.log").read_text(errors="replace")[since:]


def _log_size(run_dir: Path) -> int:
    return len((run_dir / "freqtrade.log").read_text(errors="replace"))


def _strategy_messages(text: str) -> list[str]:
    return [line for line in text.splitlines() if "Sending rpc strategy_msg" in line]


def _open_dates(run_dir: Path) -> list[datetime]:
    with sqlite3.connect(run_dir / "tradesv3.replay.sqlite") as conn:
        rows = conn.execute("SELECT open_date FROM trades").fetchall()
    return [datetime.fromisoformat(r[0]).replace(tzinfo=UTC) for r in rows]


def _wait_for(predicate: Any, what: str, bot: ReplayBot, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        bot._check_alive()
        time.sleep(0.5)
    raise AssertionError(f"not seen within {timeout:.0f} s: {what}\n{bot.tail()}")


def _leg(replay: str, run_dir: Path, resume: bool) -> ReplayBot:
    extra = ARGS + (("--resume",) if resume else ())
    bot = ReplayBot(replay, run_dir, configs=CONFIGS, extra_args=extra).start()
    bot.wait_until_finished(LEG_TIMEOUT)
    return bot


def _stop(bot: ReplayBot) -> None:
    code = bot.stop()
    assert code == 0, f"replay bot exited with {code}: {bot.tail()}"


def test_halt_and_peak_survive_restart_and_reload_until_reset(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    db_url = f"sqlite:///{run_dir / 'tradesv3.replay.sqlite'}"
    store = RiskStateStore.from_url(db_url)

    # 1. Trade until the drawdown halt trips.
    bot = _leg("20250601..20250603", run_dir, resume=False)
    try:
        tripped = [m for m in _strategy_messages(_log(run_dir)) if "HALTED: drawdown" in m]
        assert tripped, bot.tail()
        stored = store.load_state()
        assert stored is not None
        assert [h.key for h in stored.halts] == [HALT_DRAWDOWN]
        peak, since = stored.equity_peak, stored.halts[0].since
        assert peak is not None
    finally:
        _stop(bot)

    # 2. Restart on the same database: halted from the first loop, the peak as stored.
    restart_at = datetime(2025, 6, 3, tzinfo=UTC)
    offset = _log_size(run_dir)
    bot = _leg("20250603..20250604", run_dir, resume=True)
    try:
        after = _log(run_dir, offset)
        assert RESTORED in after and "still HALTED" in after, bot.tail()
        assert "ACTIVE again" not in after
        assert not [d for d in _open_dates(run_dir) if d >= restart_at]
        # Signals came and were refused: "no entry" is the halt's doing, not a quiet market.
        assert "entry refused" in after and "risk halt: drawdown" in after
        client = bot.client()
        equity = float(client.balance()["total"])
        stored = store.load_state()
        assert stored is not None and stored.equity_peak == peak
        assert stored.halts[0].since == since
        # Re-basing would have made the current equity the peak.
        assert equity < peak

        # /reload_config: Freqtrade builds a new strategy object and calls bot_start again.
        offset = _log_size(run_dir)
        answer = client.reload_config()
        assert answer == {"status": "Reloading config ..."}, answer
        _wait_for(lambda: RESTORED in _log(run_dir, offset), "restore after reload", bot)
        time.sleep(5)  # a few loops of the reloaded bot on the stopped clock
        after = _log(run_dir, offset)
        assert "still HALTED" in after and "ACTIVE again" not in after, bot.tail()
        stored = store.load_state()
        assert stored is not None and stored.equity_peak == peak
        assert [h.key for h in stored.halts] == [HALT_DRAWDOWN] and stored.halts[0].since == since

        # `tribar risk reset` while the bot runs: applied at its next loop and announced.
        offset = _log_size(run_dir)
        reset = subprocess.run(
            [sys.executable, "-m", "tribar.cli", "risk", "reset", "--reason", "test",
             "--db-url", db_url],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert reset.returncode == 0, reset.stderr
        _wait_for(
            lambda: any(
                "Risk reset by operator ('test'" in m
                for m in _strategy_messages(_log(run_dir, offset))
            ),
            "the reset announced through dp.send_msg",
            bot,
        )
        announced = _strategy_messages(_log(run_dir, offset))
        assert any("ACTIVE again: cleared drawdown" in m for m in announced)
        stored = store.load_state()
        assert stored is not None and not stored.halts
        assert store.pending_reset() is None
        # The peak re-based on the equity at the reset.
        assert stored.equity_peak == pytest.approx(equity, abs=0.01)
        status = subprocess.run(
            [sys.executable, "-m", "tribar.cli", "risk", "status", "--db-url", db_url],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert status.returncode == 0 and "ACTIVE" in status.stdout, status
    finally:
        _stop(bot)

    # 3. Entries resume.
    resumed_at = datetime(2025, 6, 4, tzinfo=UTC)
    offset = _log_size(run_dir)
    bot = _leg("20250604..20250606", run_dir, resume=True)
    try:
        assert [d for d in _open_dates(run_dir) if d >= resumed_at], bot.tail()
        after = _log(run_dir, offset)
        assert RESTORED in after and "still HALTED" not in after
    finally:
        _stop(bot)
        store.dispose()
