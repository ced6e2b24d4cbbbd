"""The primary trend signals of meta-labelling: known answers, warm-up, closed candles only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.designs.primary_signals import (
    PRIMARY_SIGNALS,
    PrimarySignal,
    donchian_lower,
    donchian_position,
    donchian_signal,
    donchian_upper,
    momentum_return,
    primary_signal,
    tsmom_signal,
    with_regime,
)

EXAMPLES = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def test_tsmom_is_on_when_the_close_is_above_the_close_lookback_candles_ago() -> None:
    close = pd.Series([10.0, 11.0, 9.0, 12.0, 8.0, 8.0])
    # t=2: 9 > 10? no. t=3: 12 > 11 yes. t=4: 8 > 9 no. t=5: 8 > 12 no.
    assert tsmom_signal(close, 2).tolist() == [False, False, False, True, False, False]
    np.testing.assert_allclose(momentum_return(close, 2).iloc[3], 12.0 / 11.0 - 1.0)


def test_donchian_breaks_out_of_the_previous_candles_high_only() -> None:
    high = pd.Series([10.0, 12.0, 11.0, 11.5, 20.0, 13.0])
    close = pd.Series([9.0, 11.0, 12.5, 11.0, 13.0, 12.9])
    # Channel of the previous 2 highs: t=2: max(10,12)=12 < 12.5 on; t=3: max(12,11)=12 > 11;
    # t=4: max(11,11.5)=11.5 < 13 on; t=5: max(11.5,20)=20 > 12.9.
    assert donchian_upper(high, 2).tolist()[2:] == [12.0, 12.0, 11.5, 20.0]
    assert donchian_signal(close, high, 2).tolist() == [False, False, True, False, True, False]
    # The candle's own high is not part of its channel: a close at its own high still breaks out.
    assert donchian_signal(pd.Series([1.0, 2.0]), pd.Series([1.0, 2.0]), 1).tolist() == [
        False,
        True,
    ]


def test_donchian_position_holds_from_the_breakout_to_the_exit_channel() -> None:
    close = pd.Series([10.0, 10.0, 12.0, 11.0, 10.5, 9.0, 9.5, 13.0])
    high = close + 0.5
    low = close - 0.5
    # Entry channel 2 (highs before t), exit channel 2 (lows before t):
    # t=2: 12 > max(10.5, 10.5) breakout; t=3: 11 >= min(9.5, 11.5) hold; t=4: 10.5 >= 10.5
    # hold; t=5: 9 < min(11.5, 10.5)=10 exit; t=6: 9.5 not above max(11, 9.5)=11, not below
    # min(10, 8.5): stays off; t=7: 13 > 10 breakout again.
    assert donchian_lower(low, 2).tolist()[2:] == [9.5, 9.5, 10.5, 10.0, 8.5, 8.5]
    on = donchian_position(close, high, low, 2, 2)
    assert on.tolist() == [False, False, True, True, True, False, False, True]
    # The bare breakout is on only at the breakout candles.
    assert donchian_signal(close, high, 2).tolist() == [False] * 2 + [True] + [False] * 4 + [True]
    candles = pd.DataFrame({"close": close, "high": high, "low": low})
    held = primary_signal(
        candles, "donchian", tsmom_lookback=2, donchian_lookback=2, donchian_exit_lookback=2,
        regime_ok=None,
    )  # fmt: skip
    assert held.tolist() == on.tolist()


@pytest.mark.parametrize("lookback", [1, 5, 30])
def test_warm_up_rows_are_false_never_nan(lookback: int) -> None:
    rising = pd.Series(np.arange(1.0, 61.0))  # every filled look-back is a bet
    for signal in (
        tsmom_signal(rising, lookback),
        donchian_signal(rising, rising, lookback),
        donchian_position(rising, rising, rising - 0.5, lookback, 3),
    ):
        assert signal.dtype == bool
        assert not signal.iloc[:lookback].any()
        assert signal.iloc[lookback:].all()


def test_missing_closes_and_regime_values_are_never_bets() -> None:
    close = pd.Series([1.0, 2.0, np.nan, 4.0, 5.0])
    assert tsmom_signal(close, 1).tolist() == [False, True, False, False, True]
    regime = pd.Series([True, None, True, False, True], dtype="boolean")
    signal = pd.Series([True, True, True, True, True])
    assert with_regime(signal, regime).tolist() == [True, False, True, False, True]
    assert with_regime(signal, None).all()


def test_primary_signal_combines_the_rule_with_the_regime() -> None:
    candles = pd.DataFrame({"close": np.arange(1.0, 11.0), "high": np.arange(1.0, 11.0)})
    regime = pd.Series([True] * 5 + [False] * 5)
    for kind in PRIMARY_SIGNALS:
        on = primary_signal(candles, kind, tsmom_lookback=2, donchian_lookback=3, regime_ok=regime)
        lookback = 2 if kind == "tsmom" else 3
        expected = [lookback <= i < 5 for i in range(10)]
        assert on.tolist() == expected, kind
    with pytest.raises(ValueError, match="unknown primary"):
        primary_signal(candles, "macd", tsmom_lookback=2, donchian_lookback=3, regime_ok=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lookback"):
        tsmom_signal(candles["close"], 0)


def _walk(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    high = close * np.exp(np.abs(rng.normal(0, 0.01, n)))
    low = close * np.exp(-np.abs(rng.normal(0, 0.01, n)))
    return pd.DataFrame({"close": close, "high": high, "low": low})


@EXAMPLES
@given(
    seed=st.integers(0, 2**32 - 1),
    t=st.integers(0, 299),
    lookback=st.integers(1, 60),
    kind=st.sampled_from(PRIMARY_SIGNALS),
    exit_lookback=st.integers(0, 30),
    scale=st.floats(0.01, 3.0),
)
def test_perturbing_future_candles_never_changes_past_signals(
    seed: int, t: int, lookback: int, kind: PrimarySignal, exit_lookback: int, scale: float
) -> None:
    candles = _walk(seed, 300)
    regime = pd.Series(np.random.default_rng(seed + 1).random(300) < 0.7)
    future = candles.copy()
    rng = np.random.default_rng(seed + 2)
    n = 300 - (t + 1)
    future.loc[t + 1 :, "close"] *= np.exp(rng.normal(0, scale, n))
    future.loc[t + 1 :, "high"] = future.loc[t + 1 :, "close"] * np.exp(
        np.abs(rng.normal(0, scale, n))
    )
    future.loc[t + 1 :, "low"] = future.loc[t + 1 :, "close"] * np.exp(
        -np.abs(rng.normal(0, scale, n))
    )

    def on(frame: pd.DataFrame) -> pd.Series:
        return primary_signal(
            frame, kind, tsmom_lookback=lookback, donchian_lookback=lookback,
            donchian_exit_lookback=exit_lookback, regime_ok=regime,
        )  # fmt: skip

    before, after = on(candles), on(future)
    pd.testing.assert_series_equal(before.iloc[: t + 1], after.iloc[: t + 1])
    pd.testing.assert_series_equal(
        momentum_return(candles["close"], lookback).iloc[: t + 1],
        momentum_return(future["close"], lookback).iloc[: t + 1],
    )
    # The channel a candle must break is known one candle early: it ends at the previous high.
    pd.testing.assert_series_equal(
        donchian_upper(candles["high"], lookback).iloc[: t + 2],
        donchian_upper(future["high"], lookback).iloc[: t + 2],
    )


def test_control_the_future_perturbation_does_move_later_signals() -> None:
    """The harness above is not vacuous: perturbing after t changes signals after t."""
    candles = _walk(3, 300)
    future = candles.copy()
    future.loc[150:, ["close", "high", "low"]] *= np.exp(
        np.random.default_rng(0).normal(0, 1, (150, 1))
    )
    for kind in PRIMARY_SIGNALS:
        before = primary_signal(
            candles, kind, tsmom_lookback=10, donchian_lookback=10, regime_ok=None
        )
        after = primary_signal(
            future, kind, tsmom_lookback=10, donchian_lookback=10, regime_ok=None
        )
        assert not before.iloc[150:].equals(after.iloc[150:]), kind
