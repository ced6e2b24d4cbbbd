import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freqtrade.exceptions import DependencyException, TemporaryError
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tribar.monitoring.monitor import (
    BotMonitor,
    ExchangeErrorCounter,
    drawdown_ratio,
    model_state_from_metrics,
    prediction_correct,
    read_model_state,
    slippage_bps,
)
from tribar.risk.circuit_breaker import CircuitBreaker

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(monitor: BotMonitor) -> Samples:
    text = generate_latest(monitor.metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_drawdown_and_slippage_math() -> None:
    assert drawdown_ratio(900.0, 1000.0) == pytest.approx(0.1)
    assert drawdown_ratio(1100.0, 1000.0) == 0.0
    assert drawdown_ratio(900.0, None) == 0.0
    assert drawdown_ratio(900.0, 0.0) == 0.0
    assert slippage_bps(100.1, 100.0, is_buy=True) == pytest.approx(10.0)
    assert slippage_bps(100.1, 100.0, is_buy=False) == pytest.approx(-10.0)
    with pytest.raises(ValueError, match="reference price"):
        slippage_bps(1.0, 0.0, is_buy=True)


def test_prediction_judged_against_take_profit_exit() -> None:
    assert prediction_correct(0.7, "roi")
    assert prediction_correct(0.5, "roi")
    assert not prediction_correct(0.49, "roi")
    assert prediction_correct(0.2, "stop_loss")
    assert not prediction_correct(0.8, "timeout")


def test_refusals_counted_by_decision_code() -> None:
    m = BotMonitor(refusal_codes=("circuit_breaker", "min_stake"))
    m.entry_refused("circuit_breaker")
    m.entry_refused("circuit_breaker")
    s = _samples(m)
    assert s[("tribar_entries_refused_total", (("reason", "circuit_breaker"),))] == 2
    assert s[("tribar_entries_refused_total", (("reason", "min_stake"),))] == 0


def test_trades_and_predictions(tmp_path: Path) -> None:
    m = BotMonitor()
    m.trade_closed("BTC/USDT", "roi", 3.0, 0.6)
    m.trade_closed("BTC/USDT", "stop_loss", -2.0, 0.6)
    m.trade_closed("ETH/USDT", "timeout", 0.5, None)
    s = _samples(m)
    assert s[("tribar_trades_closed_total", (("exit_reason", "roi"), ("pair", "BTC/USDT")))] == 1
    assert s[("tribar_trades_closed_total", (("exit_reason", "timeout"), ("pair", "ETH/USDT")))]
    assert s[("tribar_predictions_total", (("pair", "BTC/USDT"),))] == 2
    assert s[("tribar_predictions_correct_total", (("pair", "BTC/USDT"),))] == 1
    assert ("tribar_predictions_total", (("pair", "ETH/USDT"),)) not in s
    assert s[("tribar_trade_pnl_quote_count", ())] == 3
    assert s[("tribar_trade_pnl_quote_bucket", (("le", "0.0"),))] == 1


def test_account_breaker_and_positions() -> None:
    m = BotMonitor()
    m.update_account(900.0, 1000.0, 2, {"BTC/USDT": 50.0, "ETH/USDT": 20.0})
    m.update_account(None, 1000.0, 1, {"BTC/USDT": 55.0})
    s = _samples(m)
    assert s[("tribar_equity_quote", ())] == 900.0
    assert s[("tribar_equity_peak_quote", ())] == 1000.0
    assert s[("tribar_drawdown_ratio", ())] == pytest.approx(0.1)
    assert s[("tribar_open_trades", ())] == 1
    assert s[("tribar_open_position_value_quote", (("pair", "BTC/USDT"),))] == 55.0
    assert s[("tribar_open_position_value_quote", (("pair", "ETH/USDT"),))] == 0.0

    breaker = CircuitBreaker()
    breaker.add_listener(lambda e: m.breaker_halt_added(e.halt.key))
    now = datetime(2025, 6, 3, 12, tzinfo=UTC)
    breaker.trip("daily loss 4.2 USDT", now, now + timedelta(hours=12), key="daily_loss")
    breaker.trip("drawdown 20%", now, key="drawdown")
    m.update_breaker(breaker.snapshot())
    s = _samples(m)
    assert s[("tribar_circuit_breaker_halted", ())] == 1
    assert s[("tribar_circuit_breaker_trips_total", (("reason", "daily_loss"),))] == 1
    assert s[("tribar_circuit_breaker_trips_total", (("reason", "drawdown"),))] == 1
    info = (("reason", "daily_loss,drawdown"), ("state", "halted"))
    assert s[("tribar_circuit_breaker_info", info)] == 1
    breaker.clear(now)
    m.update_breaker(breaker.snapshot())
    s = _samples(m)
    assert s[("tribar_circuit_breaker_halted", ())] == 0
    # Only the current state's series remains.
    assert ("tribar_circuit_breaker_info", info) not in s
    assert s[("tribar_circuit_breaker_info", (("reason", "none"), ("state", "active")))] == 1


def test_order_fill_and_loop_duration() -> None:
    m = BotMonitor()
    m.order_filled(1.5, 12.0, 0.62)
    m.order_filled(-1.0, float("nan"), None)  # clock skew and missing values are skipped
    m.loop_started(100.0)
    m.loop_started(105.0)
    s = _samples(m)
    assert s[("tribar_order_latency_seconds_count", ())] == 1
    assert s[("tribar_order_latency_seconds_bucket", (("le", "2.5"),))] == 1
    assert s[("tribar_order_latency_seconds_bucket", (("le", "1.0"),))] == 0
    assert s[("tribar_slippage_bps_count", ())] == 1
    assert s[("tribar_entry_confidence_count", ())] == 1
    assert s[("tribar_bot_loop_duration_seconds_count", ())] == 1
    assert s[("tribar_bot_loop_duration_seconds_sum", ())] == 5.0


def test_model_state_from_training_metrics(tmp_path: Path) -> None:
    gated: dict[str, Any] = {"edge_gate": {"passed": False, "auc": 0.53},
                             "calibration_raw": {"auc": 0.55}}  # fmt: skip
    assert model_state_from_metrics(gated).gate_open is False
    assert model_state_from_metrics(gated).auc == 0.53
    ungated = model_state_from_metrics({"calibration_raw": {"auc": 0.58}})
    assert (ungated.gate_open, ungated.auc) == (True, 0.58)
    assert model_state_from_metrics({}).gate_open is None
    assert read_model_state(tmp_path, "tribar_metrics.json") is None
    (tmp_path / "tribar_metrics.json").write_text(json.dumps(gated))
    state = read_model_state(tmp_path, "tribar_metrics.json")
    m = BotMonitor()
    m.update_model("BTC/USDT", state, 1_749_000_000.0)
    m.update_ledger(3, 1)
    s = _samples(m)
    assert s[("tribar_edge_gate_open", (("pair", "BTC/USDT"),))] == 0
    assert s[("tribar_model_auc", (("pair", "BTC/USDT"),))] == 0.53
    assert s[("tribar_last_training_timestamp_seconds", (("pair", "BTC/USDT"),))] == 1.749e9
    assert s[("tribar_ledger_outbox_backlog", ())] == 3
    assert s[("tribar_ledger_dead_letters", ())] == 1


def test_exchange_errors_counted_by_class_from_the_retriers_except_block() -> None:
    m = BotMonitor()
    counter = ExchangeErrorCounter(m)
    log = logging.getLogger("freqtrade.exchange.tribar_test")
    counter.attach(["freqtrade.exchange.tribar_test"])
    try:
        for exc in (TemporaryError("timeout"), TemporaryError("again"), DependencyException("x")):
            try:
                raise exc
            except Exception as ex:  # as freqtrade's retrier: no exc_info on the record
                log.warning('fetch_ticker() returned exception: "%s". Retrying', ex)
        log.warning("a plain warning, no exception")
        log.info("info is not counted", exc_info=TemporaryError("y"))
    finally:
        counter.detach(["freqtrade.exchange.tribar_test"])
    s = _samples(m)
    assert s[("tribar_exchange_errors_total", (("error_type", "TemporaryError"),))] == 2
    assert s[("tribar_exchange_errors_total", (("error_type", "DDosProtection"),))] == 0
    assert ("tribar_exchange_errors_total", (("error_type", "DependencyException"),)) not in s


def test_a_failing_update_logs_once_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    m = BotMonitor()
    with caplog.at_level(logging.DEBUG, logger="tribar.monitoring.monitor"):
        for _ in range(3):
            m.update_breaker({"state": "halted", "halts": [object()]})  # not a mapping
            m.update_account(float("inf"), 1.0, "two", {})  # type: ignore[arg-type]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.getMessage().split(":")[1].split()[0] for r in warnings) == [
        "update_account", "update_breaker",
    ]  # fmt: skip
    assert len([r for r in caplog.records if r.levelno == logging.DEBUG]) == 4
