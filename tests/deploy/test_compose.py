"""docker-compose.yml: pinned images, loopback-only ports, env-only secrets, existing mounts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, dict[str, Any]] = doc["services"]
    return services


def test_services_present() -> None:
    assert {"freqtrade", "postgres", "prometheus"} <= set(_services())


def test_images_pinned() -> None:
    for name, svc in _services().items():
        image = svc.get("image")
        if image is None or "build" in svc:
            continue
        tag = image.rpartition(":")[2] if ":" in image else ""
        assert tag and tag != "latest", f"service {name}: image {image!r} must have an explicit tag"


def test_ports_loopback_only() -> None:
    for name, svc in _services().items():
        for port in svc.get("ports", []):
            msg = f"service {name}: port {port!r} not on 127.0.0.1"
            assert str(port).startswith("127.0.0.1:"), msg


def test_no_literal_passwords() -> None:
    for name, svc in _services().items():
        env = svc.get("environment", {})
        items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
        for key, value in items:
            if re.search(r"PASSWORD", str(key)):
                assert str(value).startswith("${"), f"service {name}: {key} must come from env"
            secret = re.search(r"://[^:/]+:(?!\$\{)[^@]+@", str(value))
            assert not secret, f"service {name}: {key} has a literal secret"


def test_bind_mounts_exist_and_match_prometheus_config() -> None:
    for name, svc in _services().items():
        for vol in svc.get("volumes", []):
            src = str(vol).split(":")[0]
            if src.startswith("./"):
                assert (ROOT / src).exists(), f"service {name}: mount source {src} missing"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {str(v).split(":")[1] for v in _services()["prometheus"]["volumes"]}
    for pattern in prom["rule_files"]:
        assert str(Path(pattern).parent) in targets, f"rule_files {pattern} not mounted"
