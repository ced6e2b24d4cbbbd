"""The patches on Freqtrade internals fail loudly when Freqtrade changes under them."""

from __future__ import annotations

from typing import Any

import pytest

from tribar import freqtrade_patches
from tribar.freqtrade_patches import (
    FreqtradeIncompatibleError,
    check_freqtrade_compatible,
    install_offline_markets,
    uninstall_offline_markets,
)
from tribar.markets import BUNDLED_SNAPSHOT, load_snapshot


def test_installed_freqtrade_is_compatible() -> None:
    check_freqtrade_compatible()


def test_unsupported_version_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import freqtrade

    monkeypatch.setattr(freqtrade, "__version__", "2027.1")
    with pytest.raises(FreqtradeIncompatibleError, match=r"freqtrade 2027\.1 is installed"):
        check_freqtrade_compatible()


def test_changed_reload_markets_signature_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.exchange import exchange as exchange_module

    def reload_markets(self: Any, refresh: bool = False) -> None: ...

    monkeypatch.setattr(exchange_module.Exchange, "reload_markets", reload_markets)
    with pytest.raises(FreqtradeIncompatibleError, match="reload_markets"):
        check_freqtrade_compatible()


def test_exchange_object_gets_snapshot_markets_without_network() -> None:
    """Build Freqtrade's real Binance exchange class; markets must come from the snapshot."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import ExchangeResolver

    snapshot = load_snapshot(BUNDLED_SNAPSHOT)
    install_offline_markets(snapshot)
    try:
        config = Configuration.from_files(
            [str(freqtrade_patches.__file__).replace("tribar/freqtrade_patches.py", "config.json")]
        )
        config["runmode"] = RunMode.BACKTEST
        exchange = ExchangeResolver.load_exchange(config, validate=True)
        assert set(exchange.markets) == set(snapshot.markets)
        assert (
            exchange._api.markets["ETH/USDT"]["precision"]
            == snapshot.markets["ETH/USDT"]["precision"]
        )
        assert exchange.get_min_pair_stake_amount("BTC/USDT", 100_000.0, -0.05) is not None
        exchange.close()
    finally:
        uninstall_offline_markets()
