"""The hyperoptable sizing knobs (space ``sizing``): at their defaults the decision is exactly
the configured one; any value hyperopt can choose only shrinks the stake, and every cap holds."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.risk.test_risk_decision import (
    LIMITS,
    NOW,
    assert_within_every_cap,
    kelly_request,
    valid_kelly,
)
from tribar.risk import EntryRequest, RiskManager, tightened_sizing
from tribar.risk.kelly import (
    kelly_fraction,
    payoff_ratio_from_barriers,
    shrunk_payoff_ratio,
    split_profit_ratios,
)
from tribar.risk.volatility import volatility_scale

# Everything the strategy's sizing parameters can take (DecimalParameter 0.25 .. 1.0), and
# anything else in (0, 1] a parameter file could hold.
knob = st.floats(min_value=0.0, max_value=1.0, exclude_min=True)
# One entry the configured sizing allows (p 0.6, 3/1.5 ATR barriers, 1000 USDT equity).
ONE_ENTRY: dict[str, Any] = {
    "pair": "BTC/USDT", "price": 100.0, "probability": 0.6, "atr_pct": 0.01,
    "baseline_ratio": 1.0, "k_tp": 3.0, "k_sl": 1.5, "fee": 0.001, "equity": 1000.0,
    "open_exposure": {}, "closed": [], "min_stake": None, "max_stake": 500.0, "leverage": 1.0,
}  # fmt: skip


def _with_knobs(request: EntryRequest, kelly: float, vol: float) -> EntryRequest:
    return EntryRequest(
        **{**vars(request), "kelly_multiplier": kelly, "vol_scale_max_multiplier": vol}
    )


def _expected_default_stake(request: EntryRequest) -> float:
    """The stake of today's sizing, written out again from docs/risk.md (no knobs in it)."""
    sizing = LIMITS.sizing
    geometric = payoff_ratio_from_barriers(
        request.k_tp, request.k_sl, request.atr, request.price, request.fee
    )
    wins, losses = split_profit_ratios(request.closed_profit_ratios)
    b = shrunk_payoff_ratio(geometric, wins, losses, prior_strength=sizing.payoff_prior_strength)
    f = kelly_fraction(request.probability, b, fraction=sizing.kelly_fraction)
    s = volatility_scale(
        request.atr, request.atr_baseline, sizing.vol_scale_min, sizing.vol_scale_max
    )
    equity = float(request.equity)  # type: ignore[arg-type]
    exposure = dict(request.open_exposure)
    notional = min(f * s, sizing.max_position_pct) * equity
    notional = min(notional, LIMITS.max_position_value_usd - exposure.get(request.pair, 0.0))
    notional = min(notional, LIMITS.max_total_exposure_usd - sum(exposure.values()))
    stake = min(notional / float(request.leverage), float(request.max_stake))  # type: ignore[arg-type]
    floor = 0.0 if request.min_stake is None else float(request.min_stake)
    return stake if f > 0.0 and s > 0.0 and stake > 0.0 and stake >= floor else 0.0


@given(d=valid_kelly)
def test_default_knobs_size_exactly_as_configured(d: dict[str, Any]) -> None:
    request = kelly_request(d)
    assert request.kelly_multiplier == 1.0 and request.vol_scale_max_multiplier == 1.0
    decision = RiskManager(LIMITS).decide(request)
    explicit = RiskManager(LIMITS).decide(_with_knobs(request, 1.0, 1.0))
    # Bit for bit: the default backtest cannot change.
    assert decision == explicit
    assert decision.stake == pytest.approx(_expected_default_stake(request), rel=1e-12, abs=1e-12)


@given(d=valid_kelly, kelly=knob, vol=knob)
def test_knobs_never_loosen_the_sizing_or_any_cap(
    d: dict[str, Any], kelly: float, vol: float
) -> None:
    request = kelly_request(d)
    base = RiskManager(LIMITS).decide(request)
    tuned_request = _with_knobs(request, kelly, vol)
    tuned = RiskManager(LIMITS).decide(tuned_request)
    # Every cap (max_position_pct, both money limits, max_stake, min_stake) still holds.
    assert_within_every_cap(tuned_request, tuned)
    assert tuned.stake <= base.stake * (1 + 1e-12)
    if tuned.allowed:
        # Nothing the knobs do can let through an entry the configured sizing refused.
        assert base.allowed
        assert tuned.kelly_fraction <= base.kelly_fraction
        assert tuned.volatility_scale <= base.volatility_scale
        assert tuned.kelly_fraction == pytest.approx(base.kelly_fraction * kelly, rel=1e-12)


@given(
    low=st.floats(0.01, 3.0), width=st.floats(0.0, 3.0), fraction=st.floats(0.01, 1.0),
    kelly=knob, vol=knob,
)  # fmt: skip
def test_tightened_sizing_stays_inside_the_configured_one(
    low: float, width: float, fraction: float, kelly: float, vol: float
) -> None:
    high = low + width
    tight = tightened_sizing(fraction, low, high, kelly, vol)
    assert tight.kelly_fraction <= fraction
    assert tight.vol_scale_min == low
    assert low <= tight.vol_scale_max <= high  # still an interval, never wider
    assert tightened_sizing(fraction, low, high) == tightened_sizing(fraction, low, high, 1.0, 1.0)
    assert tightened_sizing(fraction, low, high).vol_scale_max == high


@pytest.mark.parametrize("name", ["kelly_multiplier", "vol_scale_max_multiplier"])
@pytest.mark.parametrize("bad", [1.01, 2.0, 0.0, -0.5, math.nan, math.inf, True, "0.5", None])
def test_a_knob_outside_0_1_refuses_the_entry_naming_it(name: str, bad: Any) -> None:
    request = kelly_request(ONE_ENTRY)
    assert RiskManager(LIMITS).decide(request).allowed
    decision = RiskManager(LIMITS).decide(EntryRequest(**{**vars(request), name: bad}))
    assert not decision.allowed and decision.stake == 0.0
    assert decision.code == "inputs"
    assert name in decision.reason and "expected a number in (0, 1]" in decision.reason


def test_fixed_stakes_ignore_the_knobs() -> None:
    # Freqtrade's stake_amount is not Kelly sizing: the knobs belong to the Kelly branch only.
    request = EntryRequest(
        pair="BTC/USDT", time=NOW, sizing="fixed", proposed_stake=50.0, equity=1000.0,
        max_stake=500.0,
    )  # fmt: skip
    assert RiskManager(LIMITS).decide(_with_knobs(request, 0.25, 0.25)).stake == 50.0
