"""One replayed bot for the end-to-end tests of the live path (REST API, ledger, panic,
Telegram, FreqUI): a real ``tribar paper --replay`` process, 14 days of bundled candles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tribar.testing.fake_telegram import FakeTelegramServer
from tribar.testing.replay_bot import ReplayBot

REPLAY_RANGE = "20250601..20250615"
# TripleBarrierMLFixedStake trades on any signal (see replay-trading.json for why).
REPLAY_ARGS = (
    "--strategy", "TripleBarrierMLFixedStake", "--strategy-path", "tests/fixtures/strategies",
    "--step", "900",
)  # fmt: skip
REPLAY_CONFIGS = (
    "config.json", "config.api.json", "tests/paper/replay-trading.json",
    "tests/paper/replay-daily-loss.json", "tests/paper/replay-metrics.json",
)  # fmt: skip
# Measured 4.5 min on 2 cores; the bound only keeps a hung replay from hanging CI.
REPLAY_TIMEOUT_SECONDS = 1200


@pytest.fixture(scope="session")
def replay_telegram() -> Iterator[FakeTelegramServer]:
    """The replayed bot's Telegram: Freqtrade's own integration on a local fake Bot API."""
    with FakeTelegramServer() as server:
        yield server


@pytest.fixture(scope="session")
def replayed_bot(
    tmp_path_factory: pytest.TempPathFactory,
    replay_telegram: FakeTelegramServer,
    frequi_installed: object,
) -> Iterator[ReplayBot]:
    run_dir = Path(tmp_path_factory.mktemp("replay")) / "run"
    bot = ReplayBot(
        REPLAY_RANGE, run_dir, configs=REPLAY_CONFIGS, extra_args=REPLAY_ARGS,
        env=replay_telegram.freqtrade_env(),
    )  # fmt: skip
    bot.start()
    try:
        bot.wait_until_finished(REPLAY_TIMEOUT_SECONDS)
        yield bot
    finally:
        code = bot.stop()
        assert code == 0, f"replay bot exited with {code}: {bot.tail()}"
