"""``BotMonitor``: turns plain values from the running bot into ``TribarMetrics``.

The strategy (strategies/TripleBarrierML.py) is a thin adapter that reads Freqtrade's trades,
wallets, the risk layer and FreqAI's model folder and hands plain numbers and strings here, so
all of this is testable without Freqtrade. Every public method is guarded: an exception in
monitoring is logged once per method (then at DEBUG) and never reaches the bot loop.

Label values are kept to small fixed sets (pairs, Freqtrade exit reasons, halt keys, risk
decision codes, exception class names): free-text reasons with numbers in them would create a
new time series per message.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from tribar.monitoring.metrics import TribarMetrics

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Freqtrade's exit reason for the take-profit barrier (custom_roi).
TAKE_PROFIT_EXIT = "roi"
# A judged prediction says "take-profit" when the model's P(take-profit) is at least this.
PREDICTION_THRESHOLD = 0.5
# Freqtrade's exchange exception classes (freqtrade/exceptions.py), pre-created at 0 so that
# rate() over them has a series to work on before the first error.
KNOWN_EXCHANGE_ERRORS = (
    "ExchangeError", "TemporaryError", "DDosProtection", "RetryableOrderError",
    "InvalidOrderException", "InsufficientFundsError", "PricingError",
)  # fmt: skip
# Freqtrade loggers whose WARNING/ERROR records count as exchange errors when an exception is
# being handled (freqtrade/exchange/common.py's retrier logs inside its except block).
EXCHANGE_LOGGERS = ("freqtrade.exchange", "freqtrade.freqtradebot")


def guarded(method: Callable[P, R]) -> Callable[P, R | None]:
    """Never raise: log the first failure of each method with its traceback, later ones at
    DEBUG (a broken input repeats on every loop and would flood the log)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(*args, **kwargs)
        except Exception:
            monitor = args[0]
            failed: set[str] = getattr(monitor, "_failed", set())
            if method.__name__ not in failed:
                failed.add(method.__name__)
                logger.warning(
                    "tribar monitoring: %s failed; metrics may be stale, the bot continues "
                    "(further failures of it are logged at DEBUG)",
                    method.__name__,
                    exc_info=True,
                )
            else:
                logger.debug("tribar monitoring: %s failed again", method.__name__, exc_info=True)
            return None

    return wrapper


# --- pure functions ------------------------------------------------------------------------


def drawdown_ratio(equity: float, peak: float | None) -> float:
    """Fall from the peak as a fraction (0..1); 0 without a positive peak or above it."""
    if peak is None or not math.isfinite(peak) or peak <= 0.0:
        return 0.0
    return max(0.0, min(1.0, (peak - equity) / peak))


def slippage_bps(fill_price: float, reference_price: float, is_buy: bool) -> float:
    """Fill versus reference in basis points, adverse positive (paid more / sold for less)."""
    if not reference_price > 0.0:
        raise ValueError(f"reference price must be positive, got {reference_price!r}")
    diff = (fill_price - reference_price) / reference_price * 10_000.0
    return diff if is_buy else -diff


def prediction_correct(p_take_profit: float, exit_reason: str) -> bool:
    """The model said take-profit (P >= 0.5) and the trade left at take-profit, or it said
    not and the trade left any other way."""
    return (p_take_profit >= PREDICTION_THRESHOLD) == (exit_reason == TAKE_PROFIT_EXIT)


@dataclass(frozen=True)
class ModelState:
    """What one FreqAI training of TripleBarrierLGBM says about itself (tribar_metrics.json)."""

    gate_open: bool | None  # None: not trained (no booster)
    auc: float | None


def model_state_from_metrics(metrics: Mapping[str, Any]) -> ModelState:
    """Gate open: the edge gate passed, or no gate is configured and a model was trained.
    AUC: the gate's calibration-block AUC, else the raw calibration-block AUC."""
    gate = metrics.get("edge_gate")
    calibration = metrics.get("calibration_raw") or {}
    auc = gate.get("auc") if isinstance(gate, Mapping) else None
    if auc is None and isinstance(calibration, Mapping):
        auc = calibration.get("auc")
    if isinstance(gate, Mapping):
        gate_open: bool | None = bool(gate.get("passed"))
    else:
        gate_open = True if calibration else None
    return ModelState(gate_open, None if auc is None else float(auc))


def read_model_state(model_dir: Path, metrics_file: str) -> ModelState | None:
    """The state written next to a trained model; None when the file is absent."""
    path = model_dir / metrics_file
    if not path.is_file():
        return None
    return model_state_from_metrics(json.loads(path.read_text()))


# --- the monitor ---------------------------------------------------------------------------


class BotMonitor:
    """Sets ``TribarMetrics`` from plain values. Every public method never raises."""

    def __init__(
        self, metrics: TribarMetrics | None = None, refusal_codes: Iterable[str] = ()
    ) -> None:
        """``refusal_codes``: labels created at 0 up front, so rate() has a series to work on
        before the first refusal."""
        self.metrics = metrics or TribarMetrics()
        self._failed: set[str] = set()
        self._last_loop: float | None = None
        self._position_pairs: set[str] = set()
        for error_type in KNOWN_EXCHANGE_ERRORS:
            self.metrics.exchange_errors.labels(error_type=error_type)
        for code in refusal_codes:
            self.metrics.entries_refused.labels(reason=code)

    @guarded
    def set_identity(self, strategy: str, version: str, dry_run: bool) -> None:
        self.metrics.bot_info.labels(
            strategy=strategy, version=version, dry_run=str(bool(dry_run)).lower()
        ).set(1)

    @guarded
    def set_retrain_interval(self, live_retrain_hours: float | None) -> None:
        if live_retrain_hours is not None and float(live_retrain_hours) > 0:
            self.metrics.retrain_interval.set(float(live_retrain_hours) * 3600.0)

    @guarded
    def loop_started(self, monotonic_now: float | None = None) -> None:
        """Observe the time since the previous loop start (the whole Freqtrade iteration,
        throttle sleep included)."""
        now = time.monotonic() if monotonic_now is None else monotonic_now
        if self._last_loop is not None and now >= self._last_loop:
            self.metrics.bot_loop_duration.observe(now - self._last_loop)
        self._last_loop = now

    @guarded
    def update_account(
        self,
        equity: float | None,
        peak: float | None,
        open_trades: int,
        position_values: Mapping[str, float],
    ) -> None:
        """Equity may be None (unreadable wallet): equity and drawdown then keep their last
        values rather than dropping to 0 and faking a 100% drawdown."""
        m = self.metrics
        if equity is not None and math.isfinite(equity):
            m.equity.set(equity)
            m.drawdown.set(drawdown_ratio(equity, peak))
        if peak is not None and math.isfinite(peak):
            m.equity_peak.set(peak)
        m.open_trades.set(open_trades)
        # Pairs whose position closed drop to 0 rather than vanishing, so graphs end at 0.
        for pair in self._position_pairs - set(position_values):
            m.open_position_value.labels(pair=pair).set(0.0)
        for pair, value in position_values.items():
            m.open_position_value.labels(pair=pair).set(value)
        self._position_pairs |= set(position_values)

    @guarded
    def update_breaker(self, snapshot: Mapping[str, Any]) -> None:
        """From ``CircuitBreaker.snapshot()``: state, and the halt keys as the reason label."""
        halted = snapshot.get("state") == "halted"
        keys = sorted(str(h.get("key")) for h in snapshot.get("halts") or [])
        self.metrics.breaker_halted.set(1.0 if halted else 0.0)
        self.metrics.breaker_info.clear()
        self.metrics.breaker_info.labels(
            state=str(snapshot.get("state") or "unknown"), reason=",".join(keys) or "none"
        ).set(1)

    @guarded
    def breaker_halt_added(self, halt_key: str) -> None:
        """A new halt (ACTIVE -> HALTED, or another reason while halted)."""
        self.metrics.breaker_trips.labels(reason=halt_key).inc()

    @guarded
    def entry_refused(self, code: str) -> None:
        """``code``: the refusing step of the risk decision (tribar.risk ``DECISION_ORDER``)."""
        self.metrics.entries_refused.labels(reason=code or "unknown").inc()

    @guarded
    def exchange_error(self, error_type: str) -> None:
        self.metrics.exchange_errors.labels(error_type=error_type).inc()

    @guarded
    def order_filled(
        self,
        latency_seconds: float | None,
        slippage: float | None = None,
        entry_confidence: float | None = None,
    ) -> None:
        m = self.metrics
        if latency_seconds is not None and latency_seconds >= 0.0:
            m.order_latency.observe(latency_seconds)
        if slippage is not None and math.isfinite(slippage):
            m.slippage.observe(slippage)
        if entry_confidence is not None and math.isfinite(entry_confidence):
            m.entry_confidence.observe(entry_confidence)

    @guarded
    def trade_closed(
        self, pair: str, exit_reason: str, profit_abs: float | None, p_take_profit: float | None
    ) -> None:
        m = self.metrics
        m.trades_closed.labels(pair=pair, exit_reason=exit_reason or "unknown").inc()
        if profit_abs is not None and math.isfinite(profit_abs):
            m.trade_pnl.observe(profit_abs)
        if p_take_profit is not None and math.isfinite(p_take_profit):
            m.predictions.labels(pair=pair).inc()
            correct = m.predictions_correct.labels(pair=pair)
            if prediction_correct(p_take_profit, exit_reason):
                correct.inc()

    @guarded
    def candle_processed(self, pair: str) -> None:
        self.metrics.candles_processed.labels(pair=pair).inc()

    @guarded
    def update_model(self, pair: str, state: ModelState | None, trained_at: float | None) -> None:
        m = self.metrics
        if state is not None:
            if state.gate_open is not None:
                m.edge_gate_open.labels(pair=pair).set(1.0 if state.gate_open else 0.0)
            if state.auc is not None:
                m.model_auc.labels(pair=pair).set(state.auc)
        if trained_at is not None and trained_at > 0:
            m.last_training.labels(pair=pair).set(trained_at)

    @guarded
    def update_ledger(self, backlog: int, dead_letters: int) -> None:
        self.metrics.outbox_backlog.set(backlog)
        self.metrics.dead_letters.set(dead_letters)


def is_exchange_error(exc_type: type[BaseException]) -> bool:
    """Freqtrade's exchange exceptions (by class name, so no Freqtrade import) or ccxt's."""
    return any(
        cls.__name__ in KNOWN_EXCHANGE_ERRORS or cls.__module__.split(".")[0] == "ccxt"
        for cls in exc_type.__mro__
    )


class ExchangeErrorCounter(logging.Handler):
    """Counts WARNING+ records of Freqtrade's exchange loggers that carry an exception, by the
    exception's class name.

    Freqtrade's retrier logs ``… returned exception: "…". Retrying …`` without ``exc_info`` but
    from inside its ``except`` block, so the exception being handled (``sys.exc_info()``, same
    thread, logging calls handlers synchronously) names the class. Records without any
    exception (plain warnings), or with one that is not an exchange error (a strategy bug logged
    by freqtradebot), are not counted.
    """

    def __init__(self, monitor: BotMonitor) -> None:
        super().__init__(logging.WARNING)
        self.monitor = monitor

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_type = record.exc_info[0] if record.exc_info else sys.exc_info()[0]
            if exc_type is not None and is_exchange_error(exc_type):
                self.monitor.exchange_error(exc_type.__name__)
        except Exception:  # a logging handler must never raise into the caller
            self.handleError(record)

    def attach(self, logger_names: Iterable[str] = EXCHANGE_LOGGERS) -> None:
        for name in logger_names:
            target = logging.getLogger(name)
            if self not in target.handlers:
                target.addHandler(self)

    def detach(self, logger_names: Iterable[str] = EXCHANGE_LOGGERS) -> None:
        for name in logger_names:
            logging.getLogger(name).removeHandler(self)
