"""Prometheus config and alert rules: validated by the real promtool (Debian package prometheus)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

PROM_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = PROM_DIR / "rules" / "tribar-alerts.yml"
RULE_TESTS = PROM_DIR / "tests" / "tribar-alerts.test.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=PROM_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def _alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_check_config() -> None:
    result = _promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    result = _promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_labels_and_annotations() -> None:
    for rule in _alerts():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_every_alert_has_firing_and_non_firing_case() -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text())
    firing: set[str] = set()
    silent: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in _alerts()}
    assert names, "no alerts parsed"
    assert names - firing == set(), f"alerts without a firing case: {names - firing}"
    assert names - silent == set(), f"alerts without a non-firing case: {names - silent}"
