"""A real Freqtrade bot (``FreqtradeBot``, dry-run) in this process whose Telegram talks to the
fake Bot API server over HTTP. Markets come from the bundled snapshot, so no exchange is needed;
the bot's trading loop is not run (the replay tests run a whole ``freqtrade trade`` process)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tribar.freqtrade_patches import (
    install_offline_markets,
    install_telegram_api_url,
    uninstall_offline_markets,
    uninstall_telegram_api_url,
)
from tribar.markets import BUNDLED_SNAPSHOT, load_snapshot
from tribar.testing.fake_telegram import FakeTelegramServer

STRATEGIES = Path(__file__).resolve().parent / "strategies"


def bot_config(tmp_path: Path, telegram: dict[str, Any]) -> dict[str, Any]:
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode

    user_data = tmp_path / "user_data"
    user_data.mkdir(exist_ok=True)
    config = {
        "dry_run": True,
        "dry_run_wallet": 1000,
        "stake_currency": "USDT",
        "stake_amount": 100,
        "max_open_trades": 2,
        "timeframe": "1h",
        "exchange": {"name": "binance", "pair_whitelist": ["BTC/USDT", "ETH/USDT"]},
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same"},
        "exit_pricing": {"price_side": "same"},
        "strategy": "TelegramProbeStrategy",
        "strategy_path": str(STRATEGIES),
        "db_url": "sqlite://",
        "user_data_dir": str(user_data),
        **telegram,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    # Freqtrade's own loading and validation, as `freqtrade trade -c config.json` does.
    loaded: dict[str, Any] = Configuration({"config": [str(path)]}, RunMode.DRY_RUN).get_config()
    return loaded


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def bot_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Yields ``start(server)``, which builds a FreqtradeBot whose Telegram uses ``server``.
    On exit the bots are cleaned up (Telegram stopped: up to 10 s each, Freqtrade's own
    polling-watch interval) and the patches removed."""
    from freqtrade.freqtradebot import FreqtradeBot

    install_offline_markets(load_snapshot(BUNDLED_SNAPSHOT))
    install_telegram_api_url()
    bots: list[Any] = []

    def start(server: FakeTelegramServer, *, via_environment: bool = False) -> Any:
        """``via_environment``: configure Telegram only through ``server.freqtrade_env()``, as
        a bot in a subprocess (the replay) gets it."""
        if not via_environment:
            bot = FreqtradeBot(bot_config(tmp_path, server.freqtrade_config()))
        else:
            with _environment(server.freqtrade_env()):
                bot = FreqtradeBot(bot_config(tmp_path, {}))
                # Telegram reads the server URL when its thread builds the app.
                server.wait_until_polling()
        bots.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in bots:
            bot.cleanup()
        uninstall_telegram_api_url()
        uninstall_offline_markets()


@pytest.fixture
def start_bot(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    with bot_factory(tmp_path) as start:
        yield start


@dataclass(frozen=True)
class RunningBot:
    server: FakeTelegramServer
    bot: Any


@pytest.fixture(scope="module")
def running_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """One bot and server for the tests that leave both healthy (each bot's cleanup takes
    ~10 s). Those tests compare only messages sent after they started (``since=``)."""
    with FakeTelegramServer() as server, bot_factory(tmp_path_factory.mktemp("bot")) as start:
        bot = start(server)
        server.wait_until_polling()
        yield RunningBot(server, bot)
