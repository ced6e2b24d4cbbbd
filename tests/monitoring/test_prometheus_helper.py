"""tribar.testing.prometheus against Debian's real prometheus and a local exporter."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tribar.monitoring.exporter import start_exporter, stop_exporter
from tribar.monitoring.monitor import BotMonitor
from tribar.testing.prometheus import (
    DEPLOY_DIR,
    PrometheusError,
    PrometheusServer,
    operands,
    scrape_config,
    substitute_grafana_variables,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_operands_of_comparisons_and_set_operators() -> None:
    assert operands('up{job="tribar"} == 0') == ['up{job="tribar"}']
    assert operands("a > 10 and delta(a[15m]) > 0") == ["a", "delta(a[15m])"]
    assert operands("(time() - max(t)) > 2 * max(r)") == ["(time() - max(t))", "max(r)"]
    assert operands('x{l!="a>b"} >= bool 1 unless on(bot) y') == ['x{l!="a>b"}', "y"]
    assert operands("sum(rate(x[5m]))") == ["sum(rate(x[5m]))"]
    # "and" inside a metric name is not the operator.
    assert operands("band_total > 1") == ["band_total"]


def test_grafana_variables() -> None:
    expr = 'rate(x{bot=~"$bot", pair=~"${pair:regex}"}[$__rate_interval])'
    assert substitute_grafana_variables(expr, {"bot": ".*", "pair": "BTC/USDT"}) == (
        'rate(x{bot=~".*", pair=~"BTC/USDT"}[1m])'
    )
    with pytest.raises(KeyError, match=r"\$nope"):
        substitute_grafana_variables("x{a=~'$nope'}", {})


def test_config_keeps_the_deploy_job_and_labels() -> None:
    rules = sorted((DEPLOY_DIR / "rules").glob("*.yml"))
    config = scrape_config(DEPLOY_DIR / "prometheus.yml", "127.0.0.1:1234", rules, "2s")
    job = config["scrape_configs"][0]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:1234"]
    shipped = yaml.safe_load((DEPLOY_DIR / "prometheus.yml").read_text())
    assert (
        job["static_configs"][0]["labels"]
        == shipped["scrape_configs"][0]["static_configs"][0]["labels"]
    )
    assert config["global"]["scrape_interval"] == "2s"
    assert config["rule_files"] == [str(p) for p in rules]


def test_real_prometheus_scrapes_the_exporter_and_loads_the_rules(tmp_path: Path) -> None:
    monitor = BotMonitor()
    monitor.update_account(950.0, 1000.0, 2, {"BTC/USDT": 40.0})
    port = _free_port()
    assert start_exporter(monitor.metrics.registry, "127.0.0.1", port)
    try:
        with PrometheusServer(tmp_path / "prom", f"127.0.0.1:{port}") as prom:
            prom.wait_for_scrapes(2)
            equity = prom.query('tribar_equity_quote{bot="tribar-dry", job="tribar"}')
            assert [float(s["value"][1]) for s in equity] == [950.0]
            assert float(prom.query("tribar_drawdown_ratio")[0]["value"][1]) == pytest.approx(0.05)
            groups = prom.api("rules")["groups"]
            names = {r["name"] for g in groups for r in g["rules"]}
            assert "TribarDrawdownHigh" in names and len(names) >= 9
            assert all(r["health"] != "err" for g in groups for r in g["rules"])
            with pytest.raises(PrometheusError, match="bad_data"):
                prom.query("sum(")
    finally:
        stop_exporter("127.0.0.1", port)
