"""The replay's patch points fail loudly when Freqtrade changes, and the ccxt objects they
produce answer from history and refuse the network."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tribar.freqtrade_patches import FreqtradeIncompatibleError
from tribar.paper.clock import ReplayClock
from tribar.paper.errors import ReplayNetworkError
from tribar.paper.market_data import CandleLoader, HistoricalMarket
from tribar.replay_patches import (
    ReplaySession,
    attach_history,
    check_replay_compatible,
    install_replay,
    uninstall_replay,
)

REPO = Path(__file__).resolve().parents[2]
MARKETS = json.loads((REPO / "user_data" / "markets" / "binance-spot.json").read_text())
START = datetime(2025, 6, 1, tzinfo=UTC)
END = datetime(2025, 6, 2, tzinfo=UTC)


def _market() -> HistoricalMarket:
    return HistoricalMarket(CandleLoader(REPO / "user_data" / "data" / "binance"), MARKETS)


def test_installed_freqtrade_has_what_the_replay_patches() -> None:
    check_replay_compatible()


def test_changed_worker_sleep_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.worker import Worker

    monkeypatch.setattr(Worker, "_sleep", lambda self, seconds: None)
    with pytest.raises(FreqtradeIncompatibleError, match=r"Worker\._sleep"):
        check_replay_compatible()


def test_changed_freqai_scanning_loop_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.freqai.freqai_interface import IFreqaiModel

    def _start_scanning(self: Any, strategy: Any) -> None: ...

    monkeypatch.setattr(IFreqaiModel, "_start_scanning", _start_scanning)
    with pytest.raises(FreqtradeIncompatibleError, match="_start_scanning"):
        check_replay_compatible()


def test_changed_init_ccxt_signature_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.exchange.exchange import Exchange

    def _init_ccxt(self: Any, exchange_config: Any, ccxt_kwargs: Any) -> None: ...

    monkeypatch.setattr(Exchange, "_init_ccxt", _init_ccxt)
    with pytest.raises(FreqtradeIncompatibleError, match="_init_ccxt"):
        check_replay_compatible()


def test_ccxt_objects_answer_from_history_at_the_simulated_instant() -> None:
    import ccxt
    import ccxt.pro

    market = _market()
    sync_api, async_api = ccxt.binance(), ccxt.pro.binance()
    attach_history(sync_api, market, asynchronous=False)
    attach_history(async_api, market, asynchronous=True)
    with ReplayClock(START, END) as clock:
        clock.advance(10 * 3600 + 20 * 60)
        now = int(clock.now().timestamp() * 1000)
        assert sync_api.fetch_time() == now
        assert sync_api.fetch_ticker("BTC/USDT") == market.ticker("BTC/USDT", now)
        assert sync_api.fetch_l2_order_book("ETH/USDT", 5) == market.order_book("ETH/USDT", now, 5)
        candles = asyncio.run(async_api.fetch_ohlcv("BTC/USDT", "1h", None, 3))
        assert candles == market.ohlcv("BTC/USDT", "1h", now, None, 3)
        assert candles[-1][0] <= now
        # Any other request reaches ccxt's HTTP layer, which raises instead of connecting.
        with pytest.raises(ReplayNetworkError, match="exchange request"):
            sync_api.fetch_balance()
        with pytest.raises(ReplayNetworkError, match="exchange request"):
            asyncio.run(async_api.fetch_trades("BTC/USDT"))
    asyncio.run(async_api.close())


def test_installed_replay_refuses_remote_connections_but_not_loopback() -> None:
    session = ReplaySession(market=_market(), clock=ReplayClock(START, END))
    install_replay(session)
    try:
        with socket.socket() as sock, pytest.raises(ReplayNetworkError, match="never leaves"):
            sock.connect(("93.184.216.34", 443))
        with pytest.raises(ReplayNetworkError, match="resolve"):
            socket.getaddrinfo("api.binance.com", 443)
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
        server.close()
    finally:
        uninstall_replay()
    from freqtrade.worker import Worker

    assert isinstance(Worker.__dict__["_sleep"], staticmethod)
    assert Worker._sleep is not session.sleep


def test_clock_advances_only_when_told_and_stops_at_the_end() -> None:
    import time

    with ReplayClock(START, END) as clock:
        first = time.time()
        time.sleep(0.01)
        assert time.time() == first == START.timestamp()
        clock.advance(3600)
        assert time.time() == START.timestamp() + 3600
        assert datetime.now(UTC) == datetime(2025, 6, 1, 1, tzinfo=UTC)
        clock.advance(10 * 86400)
        assert clock.finished and clock.now() == END
    assert time.time() > END.timestamp()
