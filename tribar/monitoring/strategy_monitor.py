"""The adapter between a running TripleBarrierML (dry-run/live) and ``BotMonitor``.

The strategy keeps one-line calls (``self._monitor_...`` in strategies/TripleBarrierML.py);
this module reads Freqtrade's objects (trades, orders, wallets, FreqAI's data drawer, the risk
layer, the ledger mirror) into plain values. Every method is guarded like ``BotMonitor``'s:
monitoring never raises into the bot loop. Freqtrade is imported lazily, so ``tribar.monitoring``
stays importable without it.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tribar.monitoring.exporter import (
    MetricsSettings,
    is_serving,
    settings_from_config,
    start_exporter,
    stop_exporter,
)
from tribar.monitoring.monitor import (
    BotMonitor,
    ExchangeErrorCounter,
    ModelState,
    guarded,
    read_model_state,
    slippage_bps,
)

logger = logging.getLogger(__name__)

# Trade custom-data key of the model's P(take-profit) at entry (strategies/TripleBarrierML.py).
KEY_P = "tribar_p_tp"
BOT_RUNMODES = frozenset({"dry_run", "live"})


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class StrategyMonitor:
    """Started by ``bot_start`` when ``tribar.metrics.enabled`` in dry-run/live, else absent."""

    # The previous start in this process (/reload_config starts again): its log handler, and
    # the address and monitor of its exporter.
    _active_errors: ExchangeErrorCounter | None = None
    _serving: tuple[tuple[str, int], BotMonitor] | None = None

    def __init__(self, strategy: Any, settings: MetricsSettings, monitor: BotMonitor) -> None:
        self.strategy = strategy
        self.settings = settings
        self.monitor = monitor
        self._failed: set[str] = set()
        self._breaker: Any = None
        self._risk: Any = None
        self._model_paths: dict[str, str] = {}
        self._model_states: dict[str, ModelState | None] = {}

    @classmethod
    def start(cls, strategy: Any) -> StrategyMonitor | None:
        """None outside dry-run/live, when disabled, or when the port is busy (one WARNING).
        A bad ``tribar.metrics`` raises ValueError naming the key (the bot stops at start)."""
        config = strategy.config
        runmode = getattr(config.get("runmode"), "value", config.get("runmode"))
        if runmode not in BOT_RUNMODES:
            return None
        settings = settings_from_config(config)
        if not settings.enabled:
            return None
        try:
            from tribar.risk.decision import DECISION_ORDER

            codes: tuple[str, ...] = DECISION_ORDER
        except ImportError:
            codes = ()
        address = (settings.listen_ip_address, settings.listen_port)
        previous = StrategyMonitor._serving
        if previous is not None and previous[0] == address and is_serving(*address):
            # /reload_config: a new strategy in the same process. Its counters go on from the
            # same registry (a reload is not a restart), served by the running exporter.
            monitor = previous[1]
        else:
            if previous is not None:
                stop_exporter(*previous[0])
            StrategyMonitor._serving = None
            monitor = BotMonitor(refusal_codes=codes)
            if not start_exporter(monitor.metrics.registry, *address):
                return None
            StrategyMonitor._serving = (address, monitor)
        self = cls(strategy, settings, monitor)
        self._setup()
        return self

    @guarded
    def _setup(self) -> None:
        strategy, config = self.strategy, self.strategy.config
        self.monitor.set_identity(
            strategy.get_strategy_name(), strategy.version() or "", bool(config.get("dry_run"))
        )
        self.monitor.set_retrain_interval((config.get("freqai") or {}).get("live_retrain_hours"))
        if StrategyMonitor._active_errors is not None:
            StrategyMonitor._active_errors.detach()
        errors = ExchangeErrorCounter(self.monitor)
        errors.attach()
        StrategyMonitor._active_errors = errors
        self._hook_risk()

    def _hook_risk(self) -> None:
        """Listen to the current RiskManager; again if the strategy replaced it."""
        risk = self.strategy.risk
        if risk is not self._risk:
            self._risk = risk
            if hasattr(risk, "add_decision_listener"):
                risk.add_decision_listener(self._on_decision)
        if risk.breaker is not self._breaker:
            self._breaker = risk.breaker
            self._breaker.add_listener(self._on_breaker)

    def _on_decision(self, decision: Any) -> None:
        if not decision.allowed:
            self.monitor.entry_refused(str(decision.code))

    def _on_breaker(self, event: Any) -> None:
        if str(event.change) in ("tripped", "halt_added"):
            self.monitor.breaker_halt_added(event.halt.key)

    # --- bot loop ----------------------------------------------------------------------------

    @guarded
    def loop(self) -> None:
        """Once per bot loop, after the strategy's own risk updates."""
        self.monitor.loop_started(time.monotonic())
        self._hook_risk()
        self._update_account()
        self.monitor.update_breaker(self._risk.breaker.snapshot())
        self._update_models()
        self._update_ledger()

    @guarded
    def _update_account(self) -> None:
        from freqtrade.persistence import Trade

        from tribar.risk import mark_to_market_equity

        strategy = self.strategy
        positions = []
        values: dict[str, float] = {}
        trades = Trade.get_trades_proxy(is_open=True)
        for trade in trades:
            dataframe, _ = strategy.dp.get_analyzed_dataframe(trade.pair, strategy.timeframe)
            last = _finite(dataframe["close"].iloc[-1]) if not dataframe.empty else None
            positions.append((trade.amount, last, trade.open_rate))
            price = last if last is not None else trade.open_rate
            values[trade.pair] = values.get(trade.pair, 0.0) + float(trade.amount) * price
        wallets = strategy.wallets
        balance = wallets.get_total(strategy.config["stake_currency"]) if wallets else None
        equity = mark_to_market_equity(balance, positions)
        self.monitor.update_account(equity, _finite(self._risk.equity_peak), len(trades), values)

    @guarded
    def _update_models(self) -> None:
        """FreqAI's data drawer names each pair's current model folder and training time;
        tribar_metrics.json is read again only when the folder changes (a new training)."""
        from tribar.ml.model_metrics import METRICS_FILE

        freqai = getattr(self.strategy, "freqai", None)
        drawer = getattr(freqai, "dd", None)
        if drawer is None:
            return
        for pair, info in list(drawer.pair_dict.items()):
            path = str(info.get("data_path") or "")
            if path and self._model_paths.get(pair) != path:
                self._model_states[pair] = read_model_state(Path(path), METRICS_FILE)
                self._model_paths[pair] = path
            self.monitor.update_model(
                pair, self._model_states.get(pair), _finite(info.get("trained_timestamp"))
            )

    @guarded
    def _update_ledger(self) -> None:
        ledger = getattr(self.strategy, "_ledger", None)
        if ledger is None:
            # No mirror configured: nothing can pile up.
            self.monitor.update_ledger(0, 0)
            return
        self.monitor.update_ledger(ledger.pending(), ledger.stats.dead_lettered)

    # --- per-candle and per-order ------------------------------------------------------------

    @guarded
    def candle(self, pair: str) -> None:
        self.monitor.candle_processed(pair)

    @guarded
    def order_filled(self, trade: Any, order: Any) -> None:
        """Latency for every order; slippage and confidence for the first entry fill; the
        closed trade (count, P&L, judged prediction) when the exit closes it."""
        filled, created = order.order_filled_utc, order.order_date_utc
        latency = (filled - created).total_seconds() if filled and created else None
        p = _finite(trade.get_custom_data(KEY_P))
        is_entry = order.ft_order_side == trade.entry_side
        slip = None
        if is_entry and trade.nr_of_successful_entries == 1:
            reference = self._signal_close(trade)
            price = _finite(order.safe_price)
            if reference is not None and reference > 0 and price is not None:
                slip = slippage_bps(price, reference, is_buy=not trade.is_short)
            self.monitor.order_filled(latency, slip, p)
        else:
            self.monitor.order_filled(latency)
        if not is_entry and not trade.is_open:
            self.monitor.trade_closed(
                trade.pair, str(trade.exit_reason or ""), _finite(trade.close_profit_abs), p
            )

    def _signal_close(self, trade: Any) -> float | None:
        from freqtrade.exchange import timeframe_to_minutes

        from tribar.barrier_trade import signal_candle

        strategy = self.strategy
        dataframe, _ = strategy.dp.get_analyzed_dataframe(trade.pair, strategy.timeframe)
        step = timedelta(minutes=timeframe_to_minutes(strategy.timeframe))
        candle = signal_candle(dataframe, trade.open_date_utc, step)
        return None if candle is None else _finite(candle["close"])
