"""Volatility scale and the rolling ATR baseline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.risk.volatility import rolling_baseline_atr, volatility_scale

anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans(), st.text(max_size=2)
)


@pytest.mark.parametrize(
    ("current", "baseline", "expected"),
    [(1.0, 1.0, 1.0), (2.0, 1.0, 0.5), (1.0, 1.5, 1.5), (100.0, 1.0, 0.2), (1.0, 100.0, 2.0)],
)
def test_scale_is_baseline_over_current_clamped(
    current: float, baseline: float, expected: float
) -> None:
    assert volatility_scale(current, baseline) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("current", "baseline"),
    [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (1.0, -2.0), (math.nan, 1.0), (1.0, math.nan),
     (math.inf, 1.0), (1.0, math.inf), (None, 1.0), ("1", 1.0)],
)  # fmt: skip
def test_invalid_atr_gives_zero(current: object, baseline: object) -> None:
    assert volatility_scale(current, baseline) == 0.0


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 2.0), (-1.0, 2.0), (3.0, 2.0), (0.2, math.nan)])
def test_invalid_bounds_give_zero(lo: float, hi: float) -> None:
    assert volatility_scale(1.0, 1.0, lo, hi) == 0.0


def test_tiny_current_atr_is_clamped_not_inf() -> None:
    assert volatility_scale(5e-324, 1e308) == 2.0


@given(current=anything, baseline=anything)
def test_scale_is_zero_or_within_default_bounds(current: object, baseline: object) -> None:
    scale = volatility_scale(current, baseline)
    assert scale == 0.0 or 0.2 <= scale <= 2.0


@given(
    current=st.floats(1e-9, 1e9),
    baseline=st.floats(1e-9, 1e9),
    lo=st.floats(0.01, 1.0),
    width=st.floats(0.0, 10.0),
)
def test_scale_respects_any_valid_bounds(
    current: float, baseline: float, lo: float, width: float
) -> None:
    hi = lo + width
    scale = volatility_scale(current, baseline, lo, hi)
    assert lo <= scale <= hi
    if lo < baseline / current < hi:
        assert scale == pytest.approx(baseline / current)


@given(a=st.floats(1e-6, 1e6), b=st.floats(1e-6, 1e6), baseline=st.floats(1e-6, 1e6))
def test_scale_falls_as_current_volatility_rises(a: float, b: float, baseline: float) -> None:
    calm, wild = sorted((a, b))
    assert volatility_scale(wild, baseline) <= volatility_scale(calm, baseline)


# rolling_baseline_atr ------------------------------------------------------------------------


def test_baseline_is_median_of_previous_window() -> None:
    atr = pd.Series([1.0, 5.0, 2.0, 8.0, 3.0, 100.0])
    baseline = rolling_baseline_atr(atr, window=3)
    assert baseline.iloc[:3].isna().all()
    assert baseline.iloc[3] == 2.0  # median(1, 5, 2)
    assert baseline.iloc[4] == 5.0  # median(5, 2, 8)
    assert baseline.iloc[5] == 3.0  # median(2, 8, 3); today's 100 is not in it


@given(
    values=st.lists(st.floats(0.01, 100.0), min_size=6, max_size=40),
    window=st.integers(1, 5),
    data=st.data(),
)
def test_baseline_never_looks_ahead(values: list[float], window: int, data: st.DataObject) -> None:
    atr = pd.Series(values)
    cut = data.draw(st.integers(0, len(values) - 1))
    changed = atr.copy()
    changed.iloc[cut:] = changed.iloc[cut:] * 7.0 + 1.0
    before = rolling_baseline_atr(atr, window, min_periods=1)
    after = rolling_baseline_atr(changed, window, min_periods=1)
    # Rows up to and including `cut` use only rows before `cut`.
    pd.testing.assert_series_equal(before.iloc[: cut + 1], after.iloc[: cut + 1])


def test_invalid_atr_values_are_skipped_not_counted() -> None:
    atr = pd.Series([2.0, -1.0, np.nan, np.inf, 0.0, 4.0, 6.0])
    baseline = rolling_baseline_atr(atr, window=6, min_periods=2)
    assert baseline.iloc[6] == 3.0  # median of the valid 2.0 and 4.0


def test_baseline_keeps_the_index() -> None:
    index = pd.date_range("2026-01-01", periods=5, freq="h", tz="UTC")
    baseline = rolling_baseline_atr(pd.Series([1.0] * 5, index=index), window=2)
    assert baseline.index.equals(index)
    assert baseline.iloc[-1] == 1.0


@pytest.mark.parametrize(("window", "min_periods"), [(0, None), (-3, None), (3, 0), (3, 4)])
def test_bad_window_is_a_configuration_error(window: int, min_periods: int | None) -> None:
    with pytest.raises(ValueError, match=r"window|min_periods"):
        rolling_baseline_atr(pd.Series([1.0, 2.0]), window, min_periods)
