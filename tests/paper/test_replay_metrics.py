"""The replayed bot's Prometheus exporter (tests/paper/replay-metrics.json): its values against
the bot's own trades database and log, and every PromQL expression we ship (alert rules, Grafana
dashboard) evaluated by a real Prometheus scraping it."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tribar.testing.prometheus import (
    DEPLOY_DIR,
    PrometheusServer,
    operands,
    substitute_grafana_variables,
)
from tribar.testing.replay_bot import REPO_ROOT, ReplayBot

pytestmark = pytest.mark.freqtrade

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "tribar.json"
REPLAY_START, REPLAY_END = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 15, tzinfo=UTC)
PAIRS = {"BTC/USDT", "ETH/USDT"}  # replay-trading.json

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(bot: ReplayBot) -> Samples:
    text = urllib.request.urlopen(bot.metrics_url, timeout=10).read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _by(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(k[1])[label]: v for k, v in samples.items() if k[0] == name}


def _db(bot: ReplayBot, sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(bot.run_dir / "tradesv3.replay.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql))


def test_exporter_values_match_the_bots_trades_and_log(replayed_bot: ReplayBot) -> None:
    s = _scrape(replayed_bot)
    closed = _db(replayed_bot, "SELECT * FROM trades WHERE is_open = 0")
    assert closed, "the replay closed no trade; nothing to compare"
    by_reason = Counter((t["pair"], t["exit_reason"]) for t in closed)
    exported = {
        (dict(k[1])["pair"], dict(k[1])["exit_reason"]): v
        for k, v in s.items()
        if k[0] == "tribar_trades_closed_total"
    }
    assert exported == by_reason
    assert s[("tribar_trade_pnl_quote_count", ())] == len(closed)
    losses = sum(1 for t in closed if t["close_profit_abs"] <= 0)
    assert s[("tribar_trade_pnl_quote_bucket", (("le", "0.0"),))] == losses

    # Predictions judged at close, from the P(take-profit) stored on each trade.
    p_rows = _db(
        replayed_bot,
        "SELECT ft_trade_id, cd_value FROM trade_custom_data WHERE cd_key = 'tribar_p_tp'",
    )
    p_by_trade = {r["ft_trade_id"]: float(r["cd_value"]) for r in p_rows}
    judged = [t for t in closed if t["id"] in p_by_trade]
    assert judged
    correct = Counter(
        t["pair"] for t in judged if (p_by_trade[t["id"]] >= 0.5) == (t["exit_reason"] == "roi")
    )
    assert _by(s, "tribar_predictions_total", "pair") == Counter(t["pair"] for t in judged)
    assert {k: v for k, v in _by(s, "tribar_predictions_correct_total", "pair").items() if v} == (
        correct
    )
    # Confidence at every first entry fill (the P stored on each trade, open ones too).
    assert s[("tribar_entry_confidence_count", ())] == len(p_by_trade)

    # One latency per filled order; slippage per first entry fill.
    filled = _db(replayed_bot, "SELECT * FROM orders WHERE order_filled_date IS NOT NULL")
    assert s[("tribar_order_latency_seconds_count", ())] == len(filled)
    entries = {t["id"] for t in _db(replayed_bot, "SELECT id FROM trades")}
    assert s[("tribar_slippage_bps_count", ())] == len(entries)

    # Account: consistent with itself and with the open trades.
    equity, peak = s[("tribar_equity_quote", ())], s[("tribar_equity_peak_quote", ())]
    assert 0 < equity <= peak
    assert s[("tribar_drawdown_ratio", ())] == pytest.approx((peak - equity) / peak, abs=1e-9)
    open_trades = _db(replayed_bot, "SELECT pair FROM trades WHERE is_open = 1")
    assert s[("tribar_open_trades", ())] == len(open_trades)
    positions = {p for p, v in _by(s, "tribar_open_position_value_quote", "pair").items() if v}
    assert positions == {t["pair"] for t in open_trades}

    # Breaker: one trip per "HALTED" / "also halted" announcement (replay-daily-loss.json).
    log = (replayed_bot.run_dir / "freqtrade.log").read_text()
    sent = [line for line in log.splitlines() if "Sending rpc strategy_msg" in line]
    halts = [
        line
        for line in sent
        if "Risk circuit breaker HALTED" in line or "Risk circuit breaker also halted" in line
    ]
    assert halts
    trips = _by(s, "tribar_circuit_breaker_trips_total", "reason")
    assert sum(trips.values()) == len(halts)
    assert trips.get("daily_loss", 0) >= 1
    halted = s[("tribar_circuit_breaker_halted", ())]
    states = [dict(k[1])["state"] for k in s if k[0] == "tribar_circuit_breaker_info"]
    assert states == ["halted" if halted else "active"]

    # Candles and models, per pair, on the replay's clock.
    candles = _by(s, "tribar_candles_processed_total", "pair")
    assert set(candles) == PAIRS and all(v > 0 for v in candles.values())
    trained = _by(s, "tribar_last_training_timestamp_seconds", "pair")
    assert set(trained) == PAIRS
    for value in trained.values():
        assert REPLAY_START <= datetime.fromtimestamp(value, UTC) <= REPLAY_END
    aucs = _by(s, "tribar_model_auc", "pair")
    assert set(aucs) == PAIRS and all(0.0 <= v <= 1.0 for v in aucs.values())
    # replay-trading.json turns the edge gate off: a trained model's probabilities are used.
    assert _by(s, "tribar_edge_gate_open", "pair") == dict.fromkeys(PAIRS, 1.0)
    assert s[("tribar_retrain_interval_seconds", ())] == 168 * 3600

    # The ledger mirror (sqlite in the run dir) delivers everything.
    assert s[("tribar_ledger_dead_letters", ())] == 0
    assert s[("tribar_ledger_outbox_backlog", ())] >= 0
    info = [dict(k[1]) for k in s if k[0] == "tribar_bot_info"]
    assert info == [
        {"strategy": "TripleBarrierMLFixedStake", "version": "1.0.0", "dry_run": "true"}
    ]
    assert s[("tribar_bot_loop_duration_seconds_count", ())] > 0


# --- a real Prometheus scraping the bot ------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(
    replayed_bot: ReplayBot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    work = Path(tmp_path_factory.mktemp("prometheus"))
    with PrometheusServer(work, f"127.0.0.1:{replayed_bot.metrics_port}") as prom:
        # rate()/increase()/delta() need at least two samples in their window.
        prom.wait_for_scrapes(5)
        yield prom


def _rule_expressions() -> list[tuple[str, str]]:
    found = []
    for path in sorted((DEPLOY_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                found.append((f"{path.name}:{name}", str(rule["expr"]).strip()))
    return found


def _walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _walk(panel.get("panels", []))


def _is_prometheus(datasource: Any) -> bool:
    if isinstance(datasource, dict):
        return datasource.get("type") == "prometheus"
    return isinstance(datasource, str) and "prometheus" in datasource.lower()


def _dashboard_expressions(variables: dict[str, str]) -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = []
    for panel in _walk(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            source = target.get("datasource") or panel.get("datasource")
            if _is_prometheus(source) and target.get("expr"):
                expr = substitute_grafana_variables(target["expr"], variables)
                found.append((f"{panel.get('title')}:{target.get('refId')}", expr))
    return found


def _assert_valid_with_data(prom: PrometheusServer, name: str, expr: str) -> str:
    """The expression is valid and returns data; when it is empty (an alert that does not
    fire), each operand of its top-level comparisons / set operators must return data: the
    series exist and only the threshold filtered them away. Returns how it was judged."""
    result = prom.query(expr)  # raises on an invalid expression
    if result:
        return "data"
    parts = operands(expr)
    assert parts != [expr], f"{name}: {expr!r} returned no data"
    for part in parts:
        assert prom.query(part), f"{name}: operand {part!r} of {expr!r} returned no data"
    return "operands"


def test_every_alert_expression_is_valid_and_has_data(prometheus: PrometheusServer) -> None:
    rules = _rule_expressions()
    assert len(rules) >= 9
    judged = {name: _assert_valid_with_data(prometheus, name, expr) for name, expr in rules}
    # The replay's bot is up: TribarBotDown only has data through its operand.
    assert judged["tribar-alerts.yml:TribarBotDown"] == "operands"
    assert prometheus.query('up{job="tribar", bot="tribar-dry"}')[0]["value"][1] == "1"


def test_every_dashboard_expression_is_valid_and_has_data(
    prometheus: PrometheusServer,
) -> None:
    assert DASHBOARD.is_file(), "deploy/grafana/dashboards/tribar.json is missing"
    dashboard = json.loads(DASHBOARD.read_text())
    # Both the "All" value Grafana sends and one concrete value of each variable.
    for variables in ({"bot": ".*", "pair": ".*"}, {"bot": "tribar-dry", "pair": "BTC/USDT"}):
        exprs = _dashboard_expressions(variables)
        assert exprs, "the dashboard has no Prometheus panel"
        for name, expr in exprs:
            _assert_valid_with_data(prometheus, name, expr)
    # Variable queries label_values(<series>, <label>): the series carries the label.
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") != "query" or not str(text).startswith("label_values("):
            continue
        inner = substitute_grafana_variables(str(text)[len("label_values(") : -1], {"bot": ".*"})
        series, _, label = inner.rpartition(",")
        values = {s["metric"].get(label.strip()) for s in prometheus.query(series.strip())}
        assert values - {None}, f"variable {variable.get('name')}: {text} has no values"
