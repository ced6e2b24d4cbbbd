"""Fixed stakes (Freqtrade's stake_amount) go through the same decision and caps as Kelly stakes."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tribar.risk import EntryDecision, EntryRequest, RiskLimits, RiskManager

LIMITS = RiskLimits(max_position_value_usd=150.0, max_total_exposure_usd=500.0)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def fixed(
    stake: Any, equity: Any = 1000.0, exposure: Any = None, min_stake: Any = 5.0,
    max_stake: Any = 990.0, mgr: RiskManager | None = None,
) -> EntryDecision:  # fmt: skip
    request = EntryRequest(
        pair="BTC/USDT", time=NOW, sizing="fixed", proposed_stake=stake, equity=equity,
        open_exposure={} if exposure is None else exposure, min_stake=min_stake,
        max_stake=max_stake,
    )  # fmt: skip
    return (mgr or RiskManager(LIMITS)).decide(request)


def test_fixed_stake_passes_untouched_when_no_limit_binds() -> None:
    decision = fixed(100.0)
    assert decision.stake == 100.0 and "fixed stake" in decision.reason
    assert decision.binding is None and decision.code == "ok"


def test_fixed_stake_shrinks_under_total_exposure_then_refuses() -> None:
    exposure = {"ETH/USDT": 150.0, "SOL/USDT": 150.0, "XRP/USDT": 150.0}
    decision = fixed(100.0, exposure=exposure)
    assert math.isclose(decision.stake, 50.0) and decision.binding == "max_total_exposure_usd"
    exposure["BNB/USDT"] = 50.0
    refused = fixed(100.0, exposure=exposure)
    assert refused.stake == 0.0 and refused.code == "max_total_exposure_usd"


def test_fixed_stake_capped_per_position() -> None:
    decision = fixed(400.0, exposure={"BTC/USDT": 100.0})
    assert math.isclose(decision.stake, 50.0) and decision.binding == "max_position_value_usd"


def test_invalid_fixed_stake_is_a_refusal() -> None:
    for bad in (float("nan"), -5.0, 0.0, None, "x"):
        decision = fixed(bad)
        assert decision.stake == 0.0 and decision.code == "inputs"
        assert "proposed_stake" in decision.reason


@given(
    stake=st.floats(0.01, 5000),
    equity=st.floats(1.0, 100_000),
    pair_exposure=st.floats(0, 1000),
    other_exposure=st.floats(0, 2000),
    min_stake=st.floats(0, 50),
    max_stake=st.floats(1, 5000),
)
def test_fixed_stake_never_breaks_a_cap(
    stake: float, equity: float, pair_exposure: float, other_exposure: float,
    min_stake: float, max_stake: float,
) -> None:  # fmt: skip
    exposure = {"BTC/USDT": pair_exposure, "ETH/USDT": other_exposure}
    out = fixed(stake, equity, exposure, min_stake, max_stake).stake
    assert math.isfinite(out) and out >= 0.0
    if out > 0.0:
        assert out <= stake + 1e-9 and out <= max_stake + 1e-9 and out >= min_stake - 1e-9
        assert pair_exposure + out <= LIMITS.max_position_value_usd + 1e-6
        assert pair_exposure + other_exposure + out <= LIMITS.max_total_exposure_usd + 1e-6
