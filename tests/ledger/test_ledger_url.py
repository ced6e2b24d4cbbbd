from __future__ import annotations

from pathlib import Path

import pytest

from tribar.analysis.ledger.url import (
    DEFAULT_URL,
    ENV_VAR,
    LedgerConfigError,
    load_cli_config,
    resolve_ledger_url,
    resolve_outbox_path,
    safe_url,
)

PG = "postgresql+psycopg2://u:pw@127.0.0.1:5432/ledger"


def test_precedence_cli_env_config_default() -> None:
    config = {"tribar": {"ledger_url": "sqlite:///from_config.sqlite"}}
    env = {ENV_VAR: "sqlite:///from_env.sqlite"}
    assert resolve_ledger_url("sqlite:///cli.sqlite", config, env) == "sqlite:///cli.sqlite"
    assert resolve_ledger_url(None, config, env) == "sqlite:///from_env.sqlite"
    assert resolve_ledger_url(None, config, {}) == "sqlite:///from_config.sqlite"
    assert resolve_ledger_url(None, {}, {}) == DEFAULT_URL
    assert resolve_ledger_url(None, None, {ENV_VAR: ""}) == DEFAULT_URL
    assert resolve_ledger_url(None, {"user_data_dir": "/data/ud"}, {}) == (
        "sqlite:////data/ud/tribar_ledger.sqlite"
    )
    assert resolve_ledger_url(PG, None, {}) == PG


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u@h/db", "supports sqlite and postgresql"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_bad_urls_name_their_origin(url: str, expected: str) -> None:
    with pytest.raises(LedgerConfigError, match=expected) as err:
        resolve_ledger_url(None, None, {ENV_VAR: url})
    assert ENV_VAR in str(err.value)


def test_bad_config_values_are_reported() -> None:
    with pytest.raises(LedgerConfigError, match=r"tribar\.ledger_url must be a database URL"):
        resolve_ledger_url(None, {"tribar": {"ledger_url": 5}}, {})
    with pytest.raises(LedgerConfigError, match="'tribar' must be an object"):
        resolve_ledger_url(None, {"tribar": "x"}, {})
    with pytest.raises(LedgerConfigError, match=r"tribar\.ledger_outbox"):
        resolve_outbox_path({"tribar": {"ledger_outbox": 3}})
    assert resolve_outbox_path({"user_data_dir": "ud"}) == Path("ud/tribar_ledger_outbox.sqlite")


def test_passwords_are_masked() -> None:
    assert "pw" not in safe_url(PG)
    assert "***" in safe_url(PG)


def test_cli_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_cli_config(None) == {}
    with pytest.raises(LedgerConfigError, match="does not exist"):
        load_cli_config([str(tmp_path / "missing.json")])
    (tmp_path / "config.json").write_text('{"tribar": {"ledger_url": "sqlite:///x.sqlite"}}')
    assert load_cli_config(None)["tribar"]["ledger_url"] == "sqlite:///x.sqlite"
    (tmp_path / "broken.json").write_text("{nope")
    with pytest.raises(LedgerConfigError, match=r"broken\.json"):
        load_cli_config([str(tmp_path / "broken.json")])
