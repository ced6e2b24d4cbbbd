"""Config and deployment files keep secrets out and bind the API to loopback."""

from __future__ import annotations

import json
import re

import yaml

from tests.foundation.ftrun import REPO_ROOT

SECRET_KEYS = ("key", "secret", "password", "jwt_secret_key", "ws_token", "token")


def _walk(obj: object, path: str = "") -> list[tuple[str, object]]:
    if isinstance(obj, dict):
        return [item for k, v in obj.items() for item in _walk(v, f"{path}.{k}" if path else k)]
    if isinstance(obj, list):
        return [item for i, v in enumerate(obj) for item in _walk(v, f"{path}[{i}]")]
    return [(path, obj)]


def test_committed_configs_hold_no_secret_values() -> None:
    for name in ("config.json", "config.api.json"):
        config = json.loads((REPO_ROOT / name).read_text())
        for path, value in _walk(config):
            leaf = path.rsplit(".", 1)[-1]
            if leaf in SECRET_KEYS:
                assert value in ("", None), f"{name}: {path} must come from the environment"


def test_rest_api_listens_on_loopback_and_needs_env_secrets() -> None:
    api = json.loads((REPO_ROOT / "config.api.json").read_text())["api_server"]
    assert api["listen_ip_address"] == "127.0.0.1"
    assert "password" not in api and "jwt_secret_key" not in api
    main = json.loads((REPO_ROOT / "config.json").read_text())
    assert main["dry_run"] is True and main["trading_mode"] == "spot"
    assert main["exchange"]["name"] == "binance"


def test_env_example_documents_every_secret() -> None:
    text = (REPO_ROOT / ".env.example").read_text()
    for var in (
        "FREQTRADE__EXCHANGE__KEY", "FREQTRADE__EXCHANGE__SECRET", "FREQTRADE__TELEGRAM__TOKEN",
        "FREQTRADE__TELEGRAM__CHAT_ID", "FREQTRADE__API_SERVER__PASSWORD",
        "FREQTRADE__API_SERVER__JWT_SECRET_KEY", "TRIBAR_LEDGER_URL",
    ):  # fmt: skip
        assert re.search(rf"^#?\s*{var}=", text, re.MULTILINE), var
        assert not re.search(rf"^{var}=\S", text, re.MULTILINE), (
            f"{var} has a value in .env.example"
        )


def test_compose_publishes_only_on_loopback_and_takes_secrets_from_env() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert {"freqtrade", "postgres"} <= set(compose["services"])
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "URL" in key:
                assert "${" in str(value), f"{name}.{key} must come from the environment"
