"""The default protections, checked against Freqtrade's own protection classes.

Freqtrade ignores unknown protection keys, so a typo would silently fall back to its default;
building each protection and reading back its settings catches that.
"""

from __future__ import annotations

from typing import Any

import pytest

from tribar.risk.limits import RiskLimits
from tribar.risk.manager import RiskManager
from tribar.risk.protections import default_protections

# Protection config key -> attribute Freqtrade stores it in (see freqtrade/plugins/protections).
ATTRIBUTES = {
    "stop_duration": "_stop_duration",
    "lookback_period": "_lookback_period",
    "trade_limit": "_trade_limit",
    "only_per_pair": "_disable_global_stop",
    "required_profit": ("_profit_limit", "_required_profit"),
    "max_allowed_drawdown": "_max_allowed_drawdown",
    "calculation_mode": "_calculation_mode",
}


def test_all_four_builtins_are_configured() -> None:
    methods = [p["method"] for p in default_protections()]
    assert sorted(methods) == ["CooldownPeriod", "LowProfitPairs", "MaxDrawdown", "StoplossGuard"]
    assert RiskManager(RiskLimits()).protections() == default_protections()


def test_freqtrade_accepts_the_list() -> None:
    from freqtrade.plugins.protectionmanager import ProtectionManager

    ProtectionManager.validate_protections(default_protections())
    manager = ProtectionManager({"timeframe": "1h"}, default_protections())
    assert sorted(p.name for p in manager._protection_handlers) == sorted(
        p["method"] for p in default_protections()
    )


@pytest.mark.parametrize("config", default_protections(), ids=lambda c: c["method"])
def test_every_setting_reaches_freqtrade(config: dict[str, Any]) -> None:
    from freqtrade.resolvers import ProtectionResolver

    protection = ProtectionResolver.load_protection(
        config["method"], config={"timeframe": "1h"}, protection_config=config
    )
    for key, value in config.items():
        if key == "method":
            continue
        names = ATTRIBUTES[key]
        names = (names,) if isinstance(names, str) else names
        stored = [getattr(protection, n) for n in names if hasattr(protection, n)]
        assert stored == [value], f"{config['method']}.{key} did not arrive"


def test_callers_get_a_fresh_copy() -> None:
    first = default_protections()
    first[0]["stop_duration"] = 1
    assert default_protections()[0]["stop_duration"] == 60
