"""The real TripleBarrierML (Freqtrade's resolver) with tribar.metrics: started only in
dry-run/live when enabled, fills reach the exporter, bad settings stop the bot at start, and a
broken input never reaches the bot loop."""

from __future__ import annotations

import logging
import socket
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.foundation.ftrun import REPO_ROOT
from tests.ledger.ft_trades import make_trade, open_trades_db
from tribar.monitoring.exporter import stop_exporter

pytestmark = pytest.mark.freqtrade


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _strategy(tmp_path: Path, runmode: str, metrics: dict[str, Any]) -> Any:
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    tmp_path.mkdir(parents=True, exist_ok=True)
    db_url = open_trades_db(tmp_path / "trades.sqlite")
    config = Configuration.from_files([str(REPO_ROOT / "config.json")])
    config["runmode"] = RunMode(runmode)
    config["db_url"] = db_url
    config["strategy_path"] = str(REPO_ROOT / "strategies")
    config["tribar"].update(
        {"ledger_enabled": False, "metrics": metrics,
         "risk_limits_file": str(REPO_ROOT / "config" / "risk_limits.json")}
    )  # fmt: skip
    return StrategyResolver.load_strategy(config)


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_dry_run_serves_fills_and_closed_trades(tmp_path: Path) -> None:
    port = _free_port()
    strategy = _strategy(tmp_path, "dry_run", {"enabled": True, "listen_port": str(port)})
    strategy.bot_start()
    try:
        assert strategy._monitor is not None
        trade = make_trade(exit_reason="roi", custom={"tribar_p_tp": 0.62})
        strategy.order_filled(
            pair=trade.pair, trade=trade, order=trade.orders[-1], current_time=trade.close_date
        )
        s = _scrape(port)
        closed = ("tribar_trades_closed_total", (("exit_reason", "roi"), ("pair", "BTC/USDT")))
        assert s[closed] == 1
        assert s[("tribar_predictions_correct_total", (("pair", "BTC/USDT"),))] == 1
        # make_trade's exit order fills 250 ms after it was placed.
        assert s[("tribar_order_latency_seconds_bucket", (("le", "0.5"),))] == 1
        assert s[("tribar_order_latency_seconds_bucket", (("le", "0.1"),))] == 0
        info = [dict(k[1]) for k in s if k[0] == "tribar_bot_info"]
        assert info == [{"strategy": "TripleBarrierML", "version": "1.0.0", "dry_run": "true"}]
        # A breaker trip reaches the trips counter through the breaker listener.
        strategy.risk.breaker.trip("manual test halt", datetime.now(UTC), key="manual")
        assert _scrape(port)[("tribar_circuit_breaker_trips_total", (("reason", "manual"),))] == 1
    finally:
        stop_exporter("127.0.0.1", port)


def test_loop_with_broken_inputs_logs_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    strategy = _strategy(tmp_path, "dry_run", {"enabled": True, "listen_port": port})
    strategy.bot_start()
    try:
        make_trade(close_rate=None)  # an open trade; dp is None outside a running bot
        with caplog.at_level(logging.WARNING, logger="tribar.monitoring.monitor"):
            for _ in range(3):
                strategy._monitor_loop()
        failed = [r for r in caplog.records if "tribar monitoring" in r.getMessage()]
        assert [r.getMessage().split(":")[1].split()[0] for r in failed] == ["_update_account"]
        # The other updates of the same loop still ran.
        assert _scrape(port)[("tribar_circuit_breaker_halted", ())] == 0
    finally:
        stop_exporter("127.0.0.1", port)


@pytest.mark.parametrize("runmode", ["backtest", "hyperopt"])
def test_never_started_outside_dry_run_and_live(tmp_path: Path, runmode: str) -> None:
    port = _free_port()
    strategy = _strategy(tmp_path, runmode, {"enabled": True, "listen_port": port})
    strategy.bot_start()
    assert strategy._monitor is None
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # still free


def test_bad_setting_stops_the_bot_at_start_naming_the_key(tmp_path: Path) -> None:
    from freqtrade.exceptions import OperationalException

    strategy = _strategy(tmp_path, "dry_run", {"enabled": True, "listen_port": "x"})
    with pytest.raises(OperationalException, match=r"tribar\.metrics\.listen_port"):
        strategy.bot_start()


def test_reload_config_keeps_the_counters_and_the_exporter(tmp_path: Path) -> None:
    """Freqtrade's /reload_config builds a new strategy in the same process and calls bot_start
    again: a reload is not a restart, so the counters go on."""
    port = _free_port()
    first = _strategy(tmp_path / "a", "dry_run", {"enabled": True, "listen_port": port})
    first.bot_start()
    try:
        trade = make_trade(exit_reason="stop_loss", custom={"tribar_p_tp": 0.4})
        first.order_filled(
            pair=trade.pair, trade=trade, order=trade.orders[-1], current_time=trade.close_date
        )
        second = _strategy(tmp_path / "b", "dry_run", {"enabled": True, "listen_port": port})
        second.bot_start()
        trade = make_trade(exit_reason="stop_loss", custom={"tribar_p_tp": 0.7})
        second.order_filled(
            pair=trade.pair, trade=trade, order=trade.orders[-1], current_time=trade.close_date
        )
        s = _scrape(port)
        closed = (
            "tribar_trades_closed_total",
            (("exit_reason", "stop_loss"), ("pair", "BTC/USDT")),
        )
        assert s[closed] == 2
        assert s[("tribar_predictions_correct_total", (("pair", "BTC/USDT"),))] == 1
    finally:
        stop_exporter("127.0.0.1", port)
