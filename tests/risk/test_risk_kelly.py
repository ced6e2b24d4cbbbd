"""Kelly fraction, barrier payoff ratio and payoff shrinkage."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.risk.kelly import (
    kelly_fraction,
    payoff_ratio_from_barriers,
    shrinkage_weight,
    shrunk_payoff_ratio,
    split_profit_ratios,
)

any_number = st.floats(allow_nan=True, allow_infinity=True)
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.just([1.0]))
anything = st.one_of(any_number, junk, st.integers(-5, 5))
probability = st.floats(0.0, 1.0)
ratio = st.floats(1e-6, 1e6)


# kelly_fraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "b", "full_kelly"),
    [(0.6, 1.0, 0.2), (0.55, 1.0, 0.1), (0.5, 2.0, 0.25), (0.4, 2.0, 0.1), (1.0, 3.0, 1.0)],
)
def test_kelly_matches_the_formula(p: float, b: float, full_kelly: float) -> None:
    assert kelly_fraction(p, b, fraction=1.0) == pytest.approx(full_kelly)
    assert kelly_fraction(p, b, fraction=0.5) == pytest.approx(full_kelly / 2)


def test_default_is_half_kelly_and_uncapped() -> None:
    assert kelly_fraction(0.55, 1.0) == pytest.approx(0.05)
    # No max_position_pct here: RiskManager.decide applies it once, after the volatility scale.
    assert kelly_fraction(0.9, 2.0) == pytest.approx(0.425)


@pytest.mark.parametrize(("p", "b"), [(0.5, 1.0), (0.3, 2.0), (0.0, 5.0), (0.2, 4.0)])
def test_no_edge_means_no_trade_not_a_minimum_bet(p: float, b: float) -> None:
    assert kelly_fraction(p, b) == 0.0


@pytest.mark.parametrize(
    ("p", "b"),
    [
        (-0.1, 1.0),
        (1.1, 1.0),
        (math.nan, 1.0),
        (0.6, 0.0),
        (0.6, -1.0),
        (0.6, math.nan),
        (0.6, math.inf),
        ("0.6", 1.0),
        (None, 1.0),
        (True, 1.0),
        (0.6, [1.0]),
    ],
)
def test_invalid_p_or_b_gives_zero(p: object, b: object) -> None:
    assert kelly_fraction(p, b) == 0.0


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, math.nan, None])
def test_invalid_fraction_gives_zero(bad: object) -> None:
    assert kelly_fraction(0.9, 2.0, fraction=bad) == 0.0


@given(p=anything, b=anything, fraction=anything)
def test_kelly_is_total_finite_and_within_fraction(p: object, b: object, fraction: object) -> None:
    result = kelly_fraction(p, b, fraction=fraction)
    assert isinstance(result, float)
    assert math.isfinite(result)
    assert result >= 0.0
    if result > 0.0:
        assert isinstance(fraction, float | int)
        assert result <= fraction  # f* = p - q/b <= p <= 1
        assert 0.0 <= p <= 1.0  # type: ignore[operator]
        assert b > 0  # type: ignore[operator]


@given(p=anything, b=anything)
def test_default_never_exceeds_half(p: object, b: object) -> None:
    assert 0.0 <= kelly_fraction(p, b) <= 0.5


@given(p1=probability, p2=probability, b=ratio, fraction=st.floats(0.01, 1.0))
def test_kelly_is_monotone_in_p(p1: float, p2: float, b: float, fraction: float) -> None:
    low, high = sorted((p1, p2))
    assert kelly_fraction(low, b, fraction=fraction) <= kelly_fraction(high, b, fraction=fraction)


@given(p=probability, b1=ratio, b2=ratio)
def test_kelly_is_monotone_in_b(p: float, b1: float, b2: float) -> None:
    low, high = sorted((b1, b2))
    assert kelly_fraction(p, low) <= kelly_fraction(p, high)


@given(p=probability, b=ratio)
def test_positive_exactly_when_expectancy_is_positive(p: float, b: float) -> None:
    expectancy = p * b - (1.0 - p)
    if expectancy <= -1e-12:
        assert kelly_fraction(p, b) == 0.0
    if expectancy >= 1e-9:
        assert kelly_fraction(p, b) > 0.0


# payoff_ratio_from_barriers ------------------------------------------------------------------


@pytest.mark.parametrize(("k_tp", "k_sl"), [(2.0, 1.0), (1.0, 1.0), (1.5, 3.0)])
def test_without_fees_ratio_is_barrier_ratio(k_tp: float, k_sl: float) -> None:
    b = payoff_ratio_from_barriers(k_tp, k_sl, atr=100.0, entry_price=20_000.0, fee_per_side=0.0)
    assert b == pytest.approx(k_tp / k_sl)


def test_fees_shrink_the_ratio() -> None:
    gross = payoff_ratio_from_barriers(2.0, 1.0, 100.0, 20_000.0, 0.0)
    net = payoff_ratio_from_barriers(2.0, 1.0, 100.0, 20_000.0, 0.001)
    # Win 1 % minus ~0.2 % fees, loss 0.5 % plus ~0.2 %: b ≈ 0.8 / 0.7.
    assert net < gross
    assert net == pytest.approx(0.008 / 0.007, rel=0.01)


def test_fees_that_eat_the_win_give_zero() -> None:
    # Take-profit 0.1 % away, round-trip fees 0.2 %.
    assert (
        payoff_ratio_from_barriers(1.0, 1.0, atr=1.0, entry_price=1000.0, fee_per_side=0.001) == 0.0
    )


@pytest.mark.parametrize(
    "args",
    [
        (0.0, 1.0, 1.0, 100.0, 0.001),
        (1.0, -1.0, 1.0, 100.0, 0.001),
        (1.0, 1.0, 0.0, 100.0, 0.001),
        (1.0, 1.0, 1.0, -100.0, 0.001),
        (1.0, 1.0, 1.0, 100.0, -0.001),
        (1.0, 1.0, 1.0, 100.0, 1.0),
        (1.0, 1.0, math.nan, 100.0, 0.001),
        (1.0, 200.0, 1.0, 100.0, 0.001),  # stop below zero price
    ],
)
def test_invalid_barriers_give_zero(args: tuple[float, ...]) -> None:
    assert payoff_ratio_from_barriers(*args) == 0.0


def test_short_take_profit_below_zero_price_gives_zero() -> None:
    assert payoff_ratio_from_barriers(200.0, 1.0, 1.0, 100.0, 0.0, is_short=True) == 0.0
    assert payoff_ratio_from_barriers(200.0, 1.0, 1.0, 100.0, 0.0) > 0.0


@given(
    k_tp=anything, k_sl=anything, atr=anything, price=anything, fee=anything, short=st.booleans()
)
def test_payoff_ratio_is_total_finite_non_negative(
    k_tp: object, k_sl: object, atr: object, price: object, fee: object, short: bool
) -> None:
    b = payoff_ratio_from_barriers(k_tp, k_sl, atr, price, fee, is_short=short)
    assert math.isfinite(b)
    assert b >= 0.0


@given(
    k_tp=st.floats(0.1, 10.0),
    k_sl=st.floats(0.1, 10.0),
    fee1=st.floats(0.0, 0.01),
    fee2=st.floats(0.0, 0.01),
    short=st.booleans(),
)
def test_higher_fee_never_raises_the_ratio(
    k_tp: float, k_sl: float, fee1: float, fee2: float, short: bool
) -> None:
    low, high = sorted((fee1, fee2))
    assert payoff_ratio_from_barriers(
        k_tp, k_sl, 50.0, 10_000.0, high, is_short=short
    ) <= payoff_ratio_from_barriers(k_tp, k_sl, 50.0, 10_000.0, low, is_short=short)


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize("fee", [0.0, 0.001, 0.0025])
def test_payoff_matches_freqtrade_profit_at_the_barriers(is_short: bool, fee: float) -> None:
    from freqtrade.persistence import LocalTrade

    entry, atr, k_tp, k_sl = 2_000.0, 30.0, 2.0, 1.5
    trade = LocalTrade(
        pair="ETH/USDT",
        stake_amount=100.0,
        amount=100.0 / entry,
        open_rate=entry,
        open_date=datetime(2026, 1, 1, tzinfo=UTC),
        fee_open=fee,
        fee_close=fee,
        exchange="binance",
        is_short=is_short,
        leverage=1.0,
    )
    direction = -1.0 if is_short else 1.0
    win = trade.calc_profit_ratio(entry + direction * k_tp * atr)
    loss = trade.calc_profit_ratio(entry - direction * k_sl * atr)
    b = payoff_ratio_from_barriers(k_tp, k_sl, atr, entry, fee, is_short=is_short)
    # Freqtrade rounds profit ratios to 8 decimals.
    assert b == pytest.approx(win / -loss, rel=1e-5)


# shrunk_payoff_ratio -------------------------------------------------------------------------


def test_no_history_keeps_the_geometric_ratio() -> None:
    assert shrunk_payoff_ratio(1.8, [], []) == 1.8


def test_wins_without_losses_cannot_define_a_ratio() -> None:
    assert shrunk_payoff_ratio(1.8, [0.02] * 50, []) == 1.8
    assert shrunk_payoff_ratio(1.8, [], [-0.01] * 50) == 1.8


def test_equal_evidence_and_prior_give_the_geometric_mean() -> None:
    # 20 wins of 3 %, 20 losses of 1 % -> realised b = 3, weight 20 / (20 + 20) = 0.5.
    b = shrunk_payoff_ratio(1.2, [0.03] * 20, [-0.01] * 20, prior_strength=20)
    assert b == pytest.approx(math.sqrt(1.2 * 3.0))


def test_much_evidence_approaches_the_realised_ratio() -> None:
    b = shrunk_payoff_ratio(1.2, [0.03] * 5000, [0.01] * 5000, prior_strength=20)
    assert b == pytest.approx(3.0, rel=0.01)
    assert shrunk_payoff_ratio(1.2, [0.03] * 3, [0.01] * 3, prior_strength=0) == pytest.approx(3.0)


def test_few_trades_stay_near_the_geometric_ratio() -> None:
    b = shrunk_payoff_ratio(1.2, [0.03, 0.05], [0.01], prior_strength=20)
    assert 1.2 < b < 1.4


def test_weight_uses_the_smaller_sample() -> None:
    balanced = shrinkage_weight(10, 10, 20.0)
    lopsided = shrinkage_weight(100, 2, 20.0)
    assert balanced == pytest.approx(10 / 30)
    assert lopsided < balanced


@pytest.mark.parametrize("geometric", [0.0, -1.0, math.nan, None, math.inf])
def test_invalid_geometric_ratio_gives_zero_whatever_the_history(geometric: object) -> None:
    assert shrunk_payoff_ratio(geometric, [0.05] * 100, [0.01] * 100) == 0.0


def test_invalid_entries_are_dropped() -> None:
    clean = shrunk_payoff_ratio(1.5, [0.02, 0.04], [0.01, 0.02])
    dirty = shrunk_payoff_ratio(1.5, [0.02, math.nan, 0.04, 0.0, None], [0.01, math.inf, 0.02])
    assert dirty == clean


@given(
    geometric=st.floats(0.01, 100.0),
    wins=st.lists(st.floats(1e-6, 1.0), max_size=60),
    losses=st.lists(st.floats(1e-6, 1.0), max_size=60),
    strength=st.floats(0.0, 1000.0),
)
def test_shrunk_ratio_lies_between_prior_and_realised(
    geometric: float, wins: list[float], losses: list[float], strength: float
) -> None:
    b = shrunk_payoff_ratio(geometric, wins, losses, prior_strength=strength)
    assert math.isfinite(b) and b > 0.0
    if wins and losses:
        realised = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
        low, high = sorted((geometric, realised))
        assert low * (1 - 1e-9) <= b <= high * (1 + 1e-9)
    else:
        assert b == geometric


@given(geometric=anything, wins=st.lists(anything, max_size=5), strength=anything)
def test_shrunk_ratio_is_total(geometric: object, wins: list[object], strength: object) -> None:
    b = shrunk_payoff_ratio(geometric, wins, wins, prior_strength=strength)
    assert math.isfinite(b) and b >= 0.0


def test_split_profit_ratios() -> None:
    wins, losses = split_profit_ratios([0.02, -0.01, 0.0, math.nan, -0.03, 0.05, None])
    assert wins == [0.02, 0.05]
    assert losses == [0.01, 0.03]
