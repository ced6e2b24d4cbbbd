"""docker-compose.yml and the Dockerfile: pinned images, loopback-only ports, env-only secrets,
existing mounts, the exporter inside the compose network only."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]


def _services() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services: dict[str, dict[str, Any]] = doc["services"]
    return services


def test_services_present() -> None:
    assert {"freqtrade", "postgres", "prometheus", "grafana"} <= set(_services())


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


# --- grafana ----------------------------------------------------------------------------------


def test_grafana_image_pinned_to_exact_version() -> None:
    image = _services()["grafana"]["image"]
    assert re.fullmatch(r"grafana/grafana(-oss)?:\d+\.\d+\.\d+", image), image


def test_grafana_admin_password_from_env_and_loopback_port() -> None:
    grafana = _services()["grafana"]
    env = grafana["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${TRIBAR_GRAFANA_ADMIN_PASSWORD:?")
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]


def test_grafana_healthcheck_and_dependencies() -> None:
    grafana = _services()["grafana"]
    check = grafana["healthcheck"]["test"]
    assert check[0] == "CMD" and "http://127.0.0.1:3000/api/health" in check
    deps = grafana["depends_on"]
    for name in ("prometheus", "postgres"):
        assert deps[name]["condition"] == "service_healthy", name
        assert "healthcheck" in _services()[name], f"{name} has no healthcheck to wait for"


def test_grafana_mounts_read_only() -> None:
    binds = [str(v).split(":") for v in _services()["grafana"]["volumes"]]
    binds = [b for b in binds if b[0].startswith("./")]
    assert {b[0] for b in binds} == {"./deploy/grafana/provisioning", "./deploy/grafana/dashboards"}
    for b in binds:
        assert b[2:] == ["ro"], f"{b[0]} must be mounted read-only"


def test_every_compose_variable_is_in_env_example() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert {"TRIBAR_POSTGRES_PASSWORD", "TRIBAR_GRAFANA_ADMIN_PASSWORD"} <= used
    for var in used:
        assert re.search(rf"^#?\s*{var}=$", example, re.MULTILINE), f"{var} not in .env.example"


# --- freqtrade image and exporter -------------------------------------------------------------


def _pinned_freqtrade() -> tuple[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    spec = next(r.specifier for r in reqs if r.name == "freqtrade")
    lower = [s.version for s in spec if s.operator in (">=", "==", "~=")]
    assert len(lower) == 1, f"freqtrade pin {spec} has no single lower bound"
    return lower[0], spec


def test_dockerfile_from_the_pinned_freqtrade_release() -> None:
    version, spec = _pinned_freqtrade()
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [ln.split()[1] for ln in lines if ln.upper().startswith("FROM ")]
    assert froms == [f"freqtradeorg/freqtrade:{version}"], froms
    assert version in spec and importlib.metadata.version("freqtrade") in spec
    installs = [ln for ln in lines if "pip install" in ln]
    assert installs and all("freqtrade" not in ln for ln in installs), installs


def test_dockerfile_runs_the_bundle_strategy() -> None:
    text = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(next(ln for ln in text.splitlines() if ln.startswith("CMD "))[4:])
    entry = json.loads(next(ln for ln in text.splitlines() if ln.startswith("ENTRYPOINT "))[11:])
    assert entry == ["freqtrade"] and cmd[0] == "trade"
    strategy = cmd[cmd.index("--strategy") + 1]
    folder = cmd[cmd.index("--strategy-path") + 1]
    assert (ROOT / folder / f"{strategy}.py").is_file()
    configs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-c"]
    assert configs and all((ROOT / c).is_file() for c in configs)
    assert f"COPY --chown=ftuser:ftuser {folder} ./{folder}" in text
    compose_cmd = _services()["freqtrade"]["command"].split()
    assert compose_cmd == cmd, "compose and Dockerfile start the bot differently"


def test_exporter_enabled_in_container_but_not_published(monkeypatch: pytest.MonkeyPatch) -> None:
    from freqtrade.configuration.environment_vars import environment_vars_to_dict

    from tribar.monitoring.exporter import settings_from_config

    freqtrade = _services()["freqtrade"]
    for key in [k for k in os.environ if k.startswith("FREQTRADE__")]:
        monkeypatch.delenv(key)
    for key, value in freqtrade["environment"].items():
        if key.startswith("FREQTRADE__TRIBAR__"):
            monkeypatch.setenv(key, str(value))
    # Freqtrade's own env-to-config mapping, then tribar's reading of the result.
    settings = settings_from_config(environment_vars_to_dict())
    assert settings.enabled and settings.listen_ip_address == "0.0.0.0"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]]  # fmt: skip
    assert f"freqtrade:{settings.listen_port}" in targets
    for port in freqtrade.get("ports", []):
        assert str(port).rsplit(":", 1)[-1] != str(settings.listen_port), port
