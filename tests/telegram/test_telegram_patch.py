"""``tribar.telegram_api_url``: Freqtrade's Telegram app is built for the configured Bot API
server, unchanged without the setting, and the patch fails loudly if Freqtrade changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tribar.freqtrade_patches import (
    TELEGRAM_API_URL_ENV,
    FreqtradeIncompatibleError,
    install_telegram_api_url,
    telegram_api_url,
    uninstall_telegram_api_url,
)

TOKEN = "42:abc"


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv(TELEGRAM_API_URL_ENV, raising=False)
    install_telegram_api_url()
    from freqtrade.rpc.telegram import Telegram

    yield Telegram
    uninstall_telegram_api_url()


def _build_app(telegram_cls: Any, config: dict[str, Any]) -> Any:
    # _init_telegram_app only reads self._config; building an Application opens no connection.
    return telegram_cls._init_telegram_app(SimpleNamespace(_config=config))


def test_without_setting_telegrams_own_servers_are_used(patched: Any) -> None:
    app = _build_app(patched, {"telegram": {"token": TOKEN}})
    assert app.bot.base_url == f"https://api.telegram.org/bot{TOKEN}"
    assert app.bot.base_file_url == f"https://api.telegram.org/file/bot{TOKEN}"


def test_config_key_selects_the_server(patched: Any) -> None:
    config = {
        "telegram": {"token": TOKEN},
        "tribar": {"telegram_api_url": "http://127.0.0.1:8081/"},
    }
    app = _build_app(patched, config)
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert app.updater is not None and app.updater.bot is app.bot  # polling uses it too


def test_environment_wins_over_config(patched: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TELEGRAM_API_URL_ENV, "https://tg.example.internal/api")
    config = {"telegram": {"token": TOKEN}, "tribar": {"telegram_api_url": "http://127.0.0.1:1"}}
    app = _build_app(patched, config)
    assert app.bot.base_url == f"https://tg.example.internal/api/bot{TOKEN}"


@pytest.mark.parametrize(
    "value", ["127.0.0.1:8081", "ftp://host", "http://", 8081, "http://h/?a=1"]
)
def test_bad_url_is_a_configuration_error(value: Any) -> None:
    from freqtrade.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="telegram_api_url"):
        telegram_api_url({"tribar": {"telegram_api_url": value}}, environ={})


def test_install_is_idempotent_and_uninstall_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.rpc.telegram import Telegram

    original = Telegram._init_telegram_app
    install_telegram_api_url()
    patched_method = Telegram._init_telegram_app
    install_telegram_api_url()
    assert Telegram._init_telegram_app is patched_method is not original
    uninstall_telegram_api_url()
    assert Telegram._init_telegram_app is original


def test_changed_app_builder_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.rpc.telegram import Application, Telegram

    def _init_telegram_app(self: Any) -> Any:
        return (
            Application.builder()
            .token(self._config["telegram"]["token"])
            .concurrent_updates(True)
            .build()
        )

    monkeypatch.setattr(Telegram, "_init_telegram_app", _init_telegram_app)
    with pytest.raises(FreqtradeIncompatibleError, match="_init_telegram_app changed"):
        install_telegram_api_url()
    assert Telegram._init_telegram_app is _init_telegram_app


def test_lazy_install_patches_on_import_without_importing_early() -> None:
    """What `tribar ft` does for every command: no cost until Freqtrade imports its Telegram."""
    code = textwrap.dedent(
        """
        import sys
        from tribar.ftcli import run_freqtrade
        assert run_freqtrade(["--version"]) == 0
        assert "freqtrade.rpc.telegram" not in sys.modules
        from freqtrade.rpc.telegram import Telegram
        print("patched" if hasattr(Telegram, "_tribar_original_init_telegram_app") else "not")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "patched"
