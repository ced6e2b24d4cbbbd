"""Fixed stakes (Freqtrade's stake_amount) obey the same hard limits as Kelly stakes."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tribar.risk import RiskLimits, RiskManager

LIMITS = RiskLimits(max_position_value_usd=150.0, max_total_exposure_usd=500.0)


def test_fixed_stake_passes_untouched_when_no_limit_binds() -> None:
    decision = RiskManager(LIMITS).cap_fixed_stake("BTC/USDT", 100.0, 1000.0, {}, 5.0, 990.0)
    assert decision.stake == 100.0 and "fixed stake" in decision.reason


def test_fixed_stake_shrinks_under_total_exposure_then_skips() -> None:
    mgr = RiskManager(LIMITS)
    exposure = {"ETH/USDT": 150.0, "SOL/USDT": 150.0, "XRP/USDT": 150.0}
    decision = mgr.cap_fixed_stake("BTC/USDT", 100.0, 1000.0, exposure, 5.0, 990.0)
    assert math.isclose(decision.stake, 50.0) and "max_total_exposure_usd" in decision.reason
    exposure["BNB/USDT"] = 50.0
    assert mgr.cap_fixed_stake("BTC/USDT", 100.0, 1000.0, exposure, 5.0, 990.0).stake == 0.0


def test_fixed_stake_capped_per_position() -> None:
    decision = RiskManager(LIMITS).cap_fixed_stake(
        "BTC/USDT", 400.0, 1000.0, {"BTC/USDT": 100.0}, 5.0, 990.0
    )
    assert math.isclose(decision.stake, 50.0) and "max_position_value_usd" in decision.reason


def test_invalid_fixed_stake_is_a_skip() -> None:
    mgr = RiskManager(LIMITS)
    for bad in (float("nan"), -5.0, 0.0, None, "x"):
        assert mgr.cap_fixed_stake("BTC/USDT", bad, 1000.0, {}, 5.0, 990.0).stake == 0.0


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
    out = (
        RiskManager(LIMITS)
        .cap_fixed_stake("BTC/USDT", stake, equity, exposure, min_stake, max_stake)
        .stake
    )
    assert math.isfinite(out) and out >= 0.0
    if out > 0.0:
        assert out <= stake + 1e-9 and out <= max_stake + 1e-9 and out >= min_stake - 1e-9
        assert pair_exposure + out <= LIMITS.max_position_value_usd + 1e-6
        assert pair_exposure + other_exposure + out <= LIMITS.max_total_exposure_usd + 1e-6
