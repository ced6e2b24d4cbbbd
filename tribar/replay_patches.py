"""The patch points of the paper-trading replay (``tribar paper --replay``); next to the offline
markets patch in ``tribar.freqtrade_patches`` and version-checked the same way.

Everything else a replayed bot does is Freqtrade's own live path. These points replace only what
needs an exchange or the wall clock:

1. ``Exchange._init_ccxt``: the ccxt objects it returns answer ``fetch_ohlcv``,
   ``fetch_ticker(s)``, ``fetch_bids_asks``, ``fetch_l2_order_book``/``fetch_order_book`` and
   ``fetch_time`` from history at the simulated instant; their HTTP layer (``fetch``) raises.
2. ``Worker._sleep``: instead of sleeping, the worker advances the simulated clock by the time it
   meant to sleep, after FreqAI's training thread has trained every pair that is due, so a
   model is never late because the clock raced ahead of a training that a live bot would have
   finished within seconds. At the end of the range the bot stops (or, with ``hold``, keeps
   serving its API on a stopped clock).
3. ``Worker._init``: remembers the bot so the clock can look at its FreqAI model.
4. FreqAI's training thread polls its queue with ``time.sleep(1)``; in a replay it polls every
   50 ms, since a simulated day passes in seconds.
5. A network guard: any socket connection to a host that is not loopback raises
   ``ReplayNetworkError``, so nothing silently reaches (or waits for) the outside world.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import socket
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tribar.freqtrade_patches import FreqtradeIncompatibleError, check_freqtrade_compatible
from tribar.paper.clock import ReplayClock
from tribar.paper.errors import ReplayError, ReplayNetworkError
from tribar.paper.market_data import HistoricalMarket

logger = logging.getLogger(__name__)

# Real time a replay waits for FreqAI to train what is due before it gives up, naming the pairs.
TRAINING_WAIT_SECONDS = 900.0
_FREQAI_POLL_SECONDS = 0.05
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


class ReplayFinished(KeyboardInterrupt):
    """Raised from the worker's sleep at the end of the range; Freqtrade's ``main`` handles a
    KeyboardInterrupt by shutting the bot down cleanly (RPC, database)."""


@dataclass
class ReplaySession:
    """What the patches read: the history, the clock, and the bot once it exists."""

    market: HistoricalMarket
    clock: ReplayClock
    hold: bool = False
    speed: float | None = None
    on_step: Callable[[ReplaySession], None] | None = None
    status_file: Path | None = None
    bot: Any = None
    steps: int = 0
    training_attempts: dict[str, float] = field(default_factory=dict)
    _last_wall: float = field(default_factory=time.monotonic)
    _advanced_at: float = 0.0
    _status_written: float = 0.0

    # --- the worker's sleep ---------------------------------------------------------------
    def sleep(self, duration: float) -> None:
        self.wait_for_training()
        if self.clock.finished:
            self.write_status(force=True)
            if not self.hold:
                logger.info("Replay reached %s: stopping the bot", self.clock.end.isoformat())
                raise ReplayFinished
            time.sleep(min(max(duration, 0.0), 1.0))
            return
        step = max(duration, 0.001)
        if self.speed:
            spent = time.monotonic() - self._last_wall
            time.sleep(max(0.0, step / self.speed - spent))
        self.clock.advance(step)
        self._advanced_at = self.clock.now_ts()
        self._last_wall = time.monotonic()
        self.steps += 1
        self.write_status()
        if self.on_step is not None:
            self.on_step(self)

    def write_status(self, force: bool = False) -> None:
        """``replay-status.json`` in the run folder: where the clock is, whether the range is
        done (a script or test waits on ``finished``); at most once a wall second."""
        if self.status_file is None:
            return
        wall = time.monotonic()
        if not force and wall - self._status_written < 1.0:
            return
        self._status_written = wall
        status = {
            "now": self.clock.now().isoformat(),
            "start": self.clock.start.isoformat(),
            "end": self.clock.end.isoformat(),
            "finished": self.clock.finished,
            "holding": self.clock.finished and self.hold,
            "steps": self.steps,
            "pid": os.getpid(),
        }
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(status))
        tmp.replace(self.status_file)

    # --- FreqAI ----------------------------------------------------------------------------
    def _live_freqai(self) -> Any:
        strategy = getattr(self.bot, "strategy", None)
        freqai = getattr(strategy, "freqai", None)
        if freqai is None or not getattr(freqai, "scanning", False):
            return None
        return freqai

    def pairs_due_for_training(self) -> list[str]:
        """The pair FreqAI's training thread would train now (the head of its queue: it trains
        one pair at a time, in queue order, and rotates the queue after each attempt), if it
        has not been attempted since the clock last moved."""
        freqai = self._live_freqai()
        if freqai is None or not freqai.train_queue:
            return []
        pair = freqai.train_queue[0]
        now = self.clock.now_ts()
        retrain_hours = float(freqai.freqai_info.get("live_retrain_hours", 0))
        trained = int((freqai.dd.pair_dict.get(pair) or {}).get("trained_timestamp", 0))
        stale = trained == 0 or (now - trained) / 3600 > retrain_hours
        if stale and self.training_attempts.get(pair, -1.0) < self._advanced_at:
            return [pair]
        return []

    def wait_for_training(self) -> None:
        deadline = time.monotonic() + TRAINING_WAIT_SECONDS
        while due := self.pairs_due_for_training():
            if time.monotonic() > deadline:
                raise ReplayError(
                    f"FreqAI did not train {', '.join(due)} within {TRAINING_WAIT_SECONDS:.0f} s "
                    f"at simulated {self.clock.now().isoformat()}; see the bot log"
                )
            time.sleep(_FREQAI_POLL_SECONDS)

    def record_training_attempt(self, pair: str) -> None:
        self.training_attempts[pair] = self.clock.now_ts()


# --- ccxt answers from history ----------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def _network_blocked(*args: Any, **kwargs: Any) -> Any:
    url = args[0] if args else kwargs.get("url")
    raise ReplayNetworkError(
        f"the replayed bot tried an exchange request ({url}); the replay serves only candles, "
        "tickers, order books and time, and never reaches the network"
    )


def attach_history(api: Any, market: HistoricalMarket, *, asynchronous: bool) -> None:
    """Make one ccxt exchange object answer market-data calls from ``market``."""

    def fetch_ohlcv(
        symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None,
        params: Any = None,
    ) -> list[list[float]]:  # fmt: skip
        return market.ohlcv(symbol, timeframe, _now_ms(), since, limit)

    def fetch_ticker(symbol: str, params: Any = None) -> dict[str, Any]:
        return market.ticker(symbol, _now_ms())

    def fetch_tickers(symbols: list[str] | None = None, params: Any = None) -> dict[str, Any]:
        now = _now_ms()
        return {s: market.ticker(s, now) for s in (symbols or market.pairs_with_data())}

    def fetch_order_book(
        symbol: str, limit: int | None = None, params: Any = None
    ) -> dict[str, Any]:
        return market.order_book(symbol, _now_ms(), limit)

    def fetch_time(params: Any = None) -> int:
        return _now_ms()

    answers: dict[str, Callable[..., Any]] = {
        "fetch_ohlcv": fetch_ohlcv,
        "fetch_ticker": fetch_ticker,
        "fetch_tickers": fetch_tickers,
        "fetch_bids_asks": fetch_tickers,
        "fetch_l2_order_book": fetch_order_book,
        "fetch_order_book": fetch_order_book,
        "fetch_time": fetch_time,
    }
    for name, answer in answers.items():
        setattr(api, name, _as_coroutine(answer) if asynchronous else answer)
    api.fetch = _as_coroutine(_network_blocked) if asynchronous else _network_blocked


def _as_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    call.__name__ = func.__name__
    return call


# --- network guard -------------------------------------------------------------------------


def _host_of(address: Any) -> str | None:
    if isinstance(address, tuple) and address:
        return str(address[0])
    return None  # AF_UNIX paths and the like stay local


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    return host.startswith("127.") or host == "0:0:0:0:0:0:0:1"


# --- installing ------------------------------------------------------------------------------

_installed: ReplaySession | None = None
_originals: dict[str, Any] = {}


def check_replay_compatible() -> None:
    """Fail loudly if Freqtrade no longer has what the replay patches rely on."""
    check_freqtrade_compatible()
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.freqai import freqai_interface
    from freqtrade.worker import Worker

    params = list(inspect.signature(Exchange._init_ccxt).parameters)
    if params != ["self", "exchange_config", "sync", "ccxt_kwargs"]:
        raise FreqtradeIncompatibleError(
            f"Exchange._init_ccxt{inspect.signature(Exchange._init_ccxt)} changed; expected "
            "(self, exchange_config, sync, ccxt_kwargs)"
        )
    exchange_source = inspect.getsource(Exchange)
    for call in ("self._api_async.fetch_ohlcv(", "self._api.fetch_l2_order_book(",
                 "self._api.fetch_ticker(", "self._api.fetch_time("):  # fmt: skip
        if call not in exchange_source:
            raise FreqtradeIncompatibleError(
                f"freqtrade's Exchange no longer calls {call}...); the replay would not serve it"
            )
    if not isinstance(inspect.getattr_static(Worker, "_sleep"), staticmethod):
        raise FreqtradeIncompatibleError("Worker._sleep is no longer a staticmethod")
    if "self._sleep(sleep_duration)" not in inspect.getsource(Worker._throttle):
        raise FreqtradeIncompatibleError("Worker._throttle no longer sleeps through self._sleep")
    if "self.freqtrade = FreqtradeBot(" not in inspect.getsource(Worker._init):
        raise FreqtradeIncompatibleError("Worker._init no longer creates self.freqtrade")
    scanning = inspect.getsource(freqai_interface.IFreqaiModel._start_scanning)
    for needle in ("time.sleep(1)", "self.train_queue[0]", "extract_data_and_train_model("):
        if needle not in scanning:
            raise FreqtradeIncompatibleError(
                f"IFreqaiModel._start_scanning no longer contains {needle!r}"
            )
    drawer = inspect.getsource(freqai_interface.FreqaiDataDrawer.get_pair_dict_info)
    if '["trained_timestamp"]' not in drawer:
        raise FreqtradeIncompatibleError(
            "FreqaiDataDrawer.pair_dict no longer holds 'trained_timestamp'"
        )


def install_replay(session: ReplaySession) -> None:
    """Install every replay patch for ``session`` (one replay per process)."""
    global _installed
    if _installed is not None:
        raise ReplayError("a replay is already installed in this process")
    check_replay_compatible()
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.freqai import freqai_interface
    from freqtrade.worker import Worker

    original_init_ccxt = Exchange._init_ccxt
    original_worker_init = Worker._init
    original_train = freqai_interface.IFreqaiModel.extract_data_and_train_model
    _originals.update(
        init_ccxt=original_init_ccxt,
        worker_sleep=inspect.getattr_static(Worker, "_sleep"),
        worker_init=original_worker_init,
        freqai_time=freqai_interface.time,
        train=original_train,
        connect=socket.socket.connect,
        connect_ex=socket.socket.connect_ex,
        getaddrinfo=socket.getaddrinfo,
    )

    def init_ccxt(self: Any, exchange_config: Any, sync: bool, ccxt_kwargs: Any) -> Any:
        api = original_init_ccxt(self, exchange_config, sync, ccxt_kwargs)
        attach_history(api, session.market, asynchronous=not sync)
        return api

    def worker_init(self: Any, reconfig: bool) -> None:
        original_worker_init(self, reconfig)
        session.bot = self.freqtrade

    def train(self: Any, new_trained_timerange: Any, pair: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original_train(self, new_trained_timerange, pair, *args, **kwargs)
        finally:
            session.record_training_attempt(pair)

    def guarded_connect(self: socket.socket, address: Any) -> None:
        _refuse_remote(address)
        _originals["connect"](self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        _refuse_remote(address)
        result: int = _originals["connect_ex"](self, address)
        return result

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(
            str(host.decode() if isinstance(host, bytes) else host)
        ):
            raise ReplayNetworkError(f"the replayed bot tried to resolve {host!r}")
        return _originals["getaddrinfo"](host, *args, **kwargs)

    exchange_cls: Any = Exchange
    worker_cls: Any = Worker
    model_cls: Any = freqai_interface.IFreqaiModel
    freqai_module: Any = freqai_interface
    socket_cls: Any = socket.socket
    socket_module: Any = socket
    exchange_cls._init_ccxt = init_ccxt
    worker_cls._sleep = staticmethod(session.sleep)
    worker_cls._init = worker_init
    model_cls.extract_data_and_train_model = train
    freqai_module.time = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(min(seconds, _FREQAI_POLL_SECONDS)),
        time=time.time,
    )
    socket_cls.connect = guarded_connect
    socket_cls.connect_ex = guarded_connect_ex
    socket_module.getaddrinfo = guarded_getaddrinfo
    _installed = session


def _refuse_remote(address: Any) -> None:
    host = _host_of(address)
    if host is not None and not is_loopback(host):
        raise ReplayNetworkError(
            f"the replayed bot tried to connect to {address!r}; a replay never leaves this machine"
        )


def uninstall_replay() -> None:
    """Undo ``install_replay`` (tests run several replays in one process)."""
    global _installed
    if _installed is None:
        return
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.freqai import freqai_interface
    from freqtrade.worker import Worker

    exchange_cls: Any = Exchange
    worker_cls: Any = Worker
    model_cls: Any = freqai_interface.IFreqaiModel
    freqai_module: Any = freqai_interface
    socket_cls: Any = socket.socket
    socket_module: Any = socket
    exchange_cls._init_ccxt = _originals["init_ccxt"]
    worker_cls._sleep = _originals["worker_sleep"]
    worker_cls._init = _originals["worker_init"]
    model_cls.extract_data_and_train_model = _originals["train"]
    freqai_module.time = _originals["freqai_time"]
    socket_cls.connect = _originals["connect"]
    socket_cls.connect_ex = _originals["connect_ex"]
    socket_module.getaddrinfo = _originals["getaddrinfo"]
    _originals.clear()
    _installed = None


def current_session() -> ReplaySession | None:
    return _installed


__all__ = [
    "ReplayFinished",
    "ReplaySession",
    "attach_history",
    "check_replay_compatible",
    "current_session",
    "install_replay",
    "uninstall_replay",
]
