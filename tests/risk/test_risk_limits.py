"""Loading and validating the risk limits: every error names where and which key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tribar.risk.limits import RiskConfigError, RiskLimits, SizingParams, load_risk_limits

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_FILE = REPO_ROOT / "config" / "risk_limits.json"


def section(**limits: Any) -> dict[str, Any]:
    return {"tribar": {"risk_limits": limits}}


def write(tmp_path: Path, data: Any, name: str = "limits.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def problems(config: dict[str, Any] | None = None, path: Path | None = None) -> str:
    with pytest.raises(RiskConfigError) as info:
        load_risk_limits(config, path)
    return str(info.value)


def test_shipped_file_is_valid_and_equals_the_defaults() -> None:
    limits = load_risk_limits(path=SHIPPED_FILE)
    assert limits == RiskLimits()
    assert limits.max_position_value_usd <= limits.max_total_exposure_usd


def test_shipped_defaults_fit_the_dry_run_wallet() -> None:
    config = json.loads((REPO_ROOT / "config.json").read_text())
    limits = load_risk_limits(config, SHIPPED_FILE)
    assert limits.min_account_balance_usd < config["dry_run_wallet"]


def test_no_sources_give_defaults() -> None:
    assert load_risk_limits() == RiskLimits()
    assert load_risk_limits({"stake_currency": "USDT"}) == RiskLimits()


def test_config_section_overrides_file_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"max_daily_loss_usd": 40.0, "max_trades_per_hour": 3, "sizing": {"kelly_fraction": 0.25}},
    )
    config = section(max_daily_loss_usd=20, sizing={"max_position_pct": 0.05})
    limits = load_risk_limits(config, path)
    assert limits.max_daily_loss_usd == 20.0  # config wins
    assert limits.max_trades_per_hour == 3  # file kept
    assert limits.max_drawdown_pct == 15.0  # default kept
    assert limits.sizing == SizingParams(kelly_fraction=0.25, max_position_pct=0.05)


def test_limits_file_named_in_the_config(tmp_path: Path) -> None:
    path = write(tmp_path, {"max_trades_per_hour": 2})
    limits = load_risk_limits({"tribar": {"risk_limits_file": str(path)}})
    assert limits.max_trades_per_hour == 2


def test_explicit_path_beats_the_configured_file(tmp_path: Path) -> None:
    named = write(tmp_path, {"max_trades_per_hour": 2}, "named.json")
    explicit = write(tmp_path, {"max_trades_per_hour": 9}, "explicit.json")
    limits = load_risk_limits({"tribar": {"risk_limits_file": str(named)}}, explicit)
    assert limits.max_trades_per_hour == 9


@pytest.mark.parametrize(
    ("limits", "key", "expected"),
    [
        ({"max_daily_loss": 50}, "max_daily_loss", "unknown key"),
        ({"sizing": {"kelly": 0.5}}, "sizing.kelly", "unknown key"),
        ({"max_daily_loss_usd": "50"}, "max_daily_loss_usd", "expected a number > 0, got '50'"),
        ({"max_trades_per_hour": 2.5}, "max_trades_per_hour", "expected an integer >= 1"),
        ({"max_trades_per_hour": True}, "max_trades_per_hour", "expected an integer >= 1"),
        ({"max_leverage": True}, "max_leverage", "expected a number in [1, 125]"),
        ({"blacklist_symbols": "BTC/USDT"}, "blacklist_symbols", "expected a list"),
        ({"blacklist_symbols": ["BTC/USDT", 3]}, "blacklist_symbols", "got 3"),
        ({"max_position_value_usd": -1}, "max_position_value_usd", "expected a number > 0"),
        ({"max_daily_loss_usd": 0}, "max_daily_loss_usd", "expected a number > 0"),
        ({"min_account_balance_usd": -5}, "min_account_balance_usd", "expected a number >= 0"),
        ({"max_drawdown_pct": 0}, "max_drawdown_pct", "expected a number in (0, 100]"),
        ({"max_drawdown_pct": 150}, "max_drawdown_pct", "expected a number in (0, 100]"),
        ({"max_drawdown_pct": 150}, "max_drawdown_pct", "(percent: 15 = 15 %)"),
        ({"max_drawdown_pct": 0.15}, "max_drawdown_pct", "max_drawdown_pct=0.15 is 0.15 %"),
        ({"max_drawdown_pct": 0.15}, "max_drawdown_pct", "write 15 for 15 %"),
        ({"sizing": {"max_position_pct": 10}}, "sizing.max_position_pct", "0.1 = 10 %"),
        ({"sizing": {"kelly_fraction": 2}}, "sizing.kelly_fraction", "half Kelly"),
        ({"max_leverage": 0.5}, "max_leverage", "expected a number in [1, 125]"),
        ({"sizing": {"kelly_fraction": 1.5}}, "sizing.kelly_fraction", "in (0, 1]"),
        ({"sizing": {"atr_baseline_window": 1}}, "sizing.atr_baseline_window", "integer >= 2"),
        ({"sizing": 0.5}, "sizing", "expected an object"),
        ({"blacklist_symbols": ["*/BTC"]}, "blacklist_symbols", "not a valid regular expression"),
        ({"blacklist_symbols": [" "]}, "blacklist_symbols", "non-empty"),
    ],
)
def test_bad_value_in_config_names_section_and_key(
    limits: dict[str, Any], key: str, expected: str
) -> None:
    message = problems(section(**limits))
    assert f"config key tribar.risk_limits: {key}: " in message
    assert expected in message


@pytest.mark.parametrize(
    ("limits", "first", "second"),
    [
        (
            {"max_position_value_usd": 600.0, "max_total_exposure_usd": 500.0},
            "max_position_value_usd",
            "max_total_exposure_usd",
        ),
        (
            {"sizing": {"vol_scale_min": 2.5, "vol_scale_max": 2.0}},
            "vol_scale_min",
            "vol_scale_max",
        ),
    ],
)
def test_contradictory_values_name_both_keys(
    limits: dict[str, Any], first: str, second: str
) -> None:
    message = problems(section(**limits))
    assert first in message and second in message
    assert "must not exceed" in message


def test_contradiction_names_both_sources(tmp_path: Path) -> None:
    path = write(tmp_path, {"max_total_exposure_usd": 100.0})
    message = problems(section(max_position_value_usd=120.0), path)
    assert str(path) in message and "config key tribar.risk_limits" in message


def test_floor_at_or_above_the_dry_run_wallet_is_contradictory() -> None:
    config = {"dry_run": True, "dry_run_wallet": 1000, **section(min_account_balance_usd=1000)}
    assert "min_account_balance_usd" in problems(config)
    assert "dry_run_wallet" in problems(config)
    # Live trading: the wallet figure means nothing, so no check.
    live = {**config, "dry_run": False}
    assert load_risk_limits(live).min_account_balance_usd == 1000


def test_errors_in_the_file_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"max_daily_loss_usd": -10, "surprise": 1})
    message = problems(path=path)
    assert f"{path}: max_daily_loss_usd: expected a number > 0, got -10" in message
    assert f"{path}: surprise: unknown key" in message


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(RiskConfigError) as info:
        load_risk_limits(section(a=1, max_drawdown_pct=-1, max_leverage="2"))
    assert len(info.value.problems) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"max_daily_loss_usd": NaN}', "NaN is not allowed"),
        ('{"max_daily_loss_usd": Infinity}', "Infinity is not allowed"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    message = problems(path=path)
    assert str(path) in message and expected in message


def test_missing_file(tmp_path: Path) -> None:
    message = problems(path=tmp_path / "nope.json")
    assert "nope.json" in message and "cannot read" in message


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"tribar": "x"}, "tribar"),
        ({"tribar": {"risk_limits": [1]}}, "tribar.risk_limits"),
        ({"tribar": {"risk_limits_file": 3}}, "tribar.risk_limits_file"),
    ],
)
def test_malformed_config_section(config: dict[str, Any], key: str) -> None:
    assert f"config key {key}:" in problems(config)


def test_limits_are_immutable() -> None:
    limits = RiskLimits()
    with pytest.raises(ValueError, match="frozen"):
        limits.max_daily_loss_usd = 1e9  # type: ignore[misc]
