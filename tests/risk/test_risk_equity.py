from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tribar.risk import mark_to_market_equity


def test_balance_plus_positions_at_last_price() -> None:
    assert mark_to_market_equity(500.0, [(2.0, 110.0, 100.0), (1.0, 50.0, 60.0)]) == 500 + 220 + 50


def test_missing_last_price_falls_back_to_entry() -> None:
    assert mark_to_market_equity(0.0, [(3.0, float("nan"), 10.0)]) == 30.0


def test_unreadable_inputs_give_none() -> None:
    assert mark_to_market_equity(float("nan"), []) is None
    assert mark_to_market_equity(-1.0, []) is None
    assert mark_to_market_equity(10.0, [(float("inf"), 1.0, 1.0)]) is None
    assert mark_to_market_equity(10.0, [(1.0, None, 0.0)]) is None


@given(
    balance=st.floats(0, 1e7),
    positions=st.lists(
        st.tuples(st.floats(0, 1e4), st.floats(1e-6, 1e5), st.floats(1e-6, 1e5)), max_size=8
    ),
)
def test_equity_is_finite_and_at_least_the_balance(
    balance: float, positions: list[tuple[float, float, float]]
) -> None:
    value = mark_to_market_equity(balance, positions)
    assert value is not None and math.isfinite(value) and value >= balance
