from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tribar.analysis.ledger.confighash import config_hash, effective_config, strip_secrets

REPO_ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((REPO_ROOT / "config.json").read_text())
    return config


def _with_secrets(config: dict[str, Any], value: str) -> dict[str, Any]:
    c = copy.deepcopy(config)
    c["exchange"]["key"] = value
    c["exchange"]["secret"] = value
    c["exchange"]["password"] = value
    c["telegram"]["token"] = value
    c["telegram"]["chat_id"] = value
    c["api_server"] = {"enabled": True, "username": value, "password": value,
                       "jwt_secret_key": value, "ws_token": [value]}  # fmt: skip
    c["db_url"] = f"postgresql://bot:{value}@db.example:5432/trades"
    c["tribar"]["ledger_url"] = f"postgresql+psycopg2://ledger:{value}@db.example/ledger"
    c["discord"] = {"webhook_url": f"https://discord.example/api/webhooks/{value}"}
    return c


def test_secrets_are_removed_wherever_they_are() -> None:
    stripped = strip_secrets(_with_secrets(_config(), "s3cr3t-value"))
    text = json.dumps(stripped)
    assert "s3cr3t-value" not in text
    # The rest of the sections stays.
    assert stripped["exchange"]["name"] == "binance"
    assert stripped["exchange"]["pair_whitelist"][0] == "BTC/USDT"
    assert stripped["api_server"] == {"enabled": True}
    assert "ledger_url" not in stripped["tribar"]
    assert stripped["tribar"]["markets_file"] == "user_data/markets/binance-spot.json"


def test_urls_without_credentials_are_kept() -> None:
    config = {
        "webhook": {"url": "https://hooks.example/x"},
        "tribar": {"ledger_url": "sqlite:///l.db"},
    }
    assert strip_secrets(config) == config
    with_token = {"webhook": {"url": "https://hooks.example/x?token=abc"}}
    assert strip_secrets(with_token) == {"webhook": {}}


@given(st.text(min_size=1, max_size=40))
def test_hash_does_not_depend_on_secret_values(secret: str) -> None:
    base = _config()
    assert config_hash(_with_secrets(base, secret)) == config_hash(_with_secrets(base, "other"))


def test_hash_changes_with_trading_settings_and_not_with_key_order() -> None:
    base = _config()
    h = config_hash(base)
    assert len(h) == 64 and int(h, 16) >= 0
    changed = copy.deepcopy(base)
    changed["max_open_trades"] = 4
    assert config_hash(changed) != h
    pairs = copy.deepcopy(base)
    pairs["exchange"]["pair_whitelist"] = ["BTC/USDT"]
    assert config_hash(pairs) != h
    reordered = dict(reversed(list(base.items())))
    assert config_hash(reordered) == h


def test_runtime_bookkeeping_is_ignored_and_odd_values_do_not_raise() -> None:
    from freqtrade.enums import RunMode

    base = _config()
    runtime = copy.deepcopy(base)
    runtime.update(
        config_files=["/somewhere/config.json"],
        original_config=copy.deepcopy(base),
        runmode=RunMode.DRY_RUN,
        user_data_dir=Path("/abs/user_data"),
    )
    assert config_hash(runtime) == config_hash(base)
    assert "runmode" not in effective_config(runtime)
    odd = {"x": float("nan"), "p": Path("a/b"), "t": (1, 2)}
    assert len(config_hash(odd)) == 64
