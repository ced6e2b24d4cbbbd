"""Triple-barrier labels: hand-built paths for every rule, and vectorised == reference loop."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tribar.labels import (
    LABEL_COLUMNS,
    BarrierSpec,
    _triple_barrier_labels_reference,
    barrier_levels,
    label_end_index,
    triple_barrier_labels,
)

BTC_1H = Path(__file__).resolve().parents[2] / "user_data/data/binance/BTC_USDT-1h.feather"

# ATR 1, entry 100 -> take-profit 102, stop 99; no fee so returns are plain price ratios.
SPEC = BarrierSpec(k_tp=2.0, k_sl=1.0, horizon=3, fee=0.0)
FLAT = (100.0, 100.0, 100.0, 100.0)


def frame(*candles: tuple[float, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(candles, columns=["open", "high", "low", "close"], dtype=float)


def ones(df: pd.DataFrame) -> pd.Series:
    return pd.Series(1.0, index=df.index)


def first_label(*candles: tuple[float, float, float, float]) -> pd.Series:
    """Label of row 0 (the signal candle is FLAT, then ``candles`` are t+1, t+2, ...)."""
    df = frame(FLAT, *candles)
    labels = triple_barrier_labels(df, ones(df), SPEC)
    reference = _triple_barrier_labels_reference(df, ones(df), SPEC)
    pd.testing.assert_frame_equal(labels, reference)
    return labels.iloc[0]


def test_take_profit_first() -> None:
    row = first_label((100, 101, 99.5, 100.5), (100.5, 102.5, 100, 102), FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (1.0, 2.0, 102.0)
    assert row.ret_net == pytest.approx(0.02)
    assert (row.entry_price, row.tp_price, row.sl_price) == (100.0, 102.0, 99.0)


def test_stop_first() -> None:
    row = first_label((100, 101, 99.5, 100.5), (100.5, 101, 98.9, 99.2), (99, 103, 99, 103))
    assert (row.outcome, row.hold, row.exit_price) == (-1.0, 2.0, 99.0)
    assert row.ret_net == pytest.approx(-0.01)


def test_touch_is_inclusive() -> None:
    assert first_label((100, 102, 99.5, 101), FLAT, FLAT).outcome == 1.0
    assert first_label((100, 101, 99, 100), FLAT, FLAT).outcome == -1.0


def test_both_barriers_in_one_candle_count_as_stop() -> None:
    row = first_label((100, 102.5, 98.5, 102), FLAT, FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (-1.0, 1.0, 99.0)


def test_entry_candle_range_counts_but_signal_candle_does_not() -> None:
    df = frame((100, 150, 50, 100), (100, 100.2, 98.8, 100), FLAT, FLAT)
    row = triple_barrier_labels(df, ones(df), SPEC).iloc[0]
    assert (row.outcome, row.hold) == (-1.0, 1.0)


def test_gap_down_through_stop_exits_at_open() -> None:
    row = first_label((100, 100.5, 99.5, 100), (97, 97.5, 96, 97), FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (-1.0, 2.0, 97.0)
    assert row.ret_net == pytest.approx(-0.03)


def test_gap_up_through_take_profit_exits_at_open_even_if_low_hits_stop() -> None:
    row = first_label((100, 100.5, 99.5, 100), (103, 103.5, 98, 99), FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (1.0, 2.0, 103.0)


def test_open_exactly_on_a_barrier_fills_there_before_the_candle_range() -> None:
    row = first_label((100, 100.5, 99.5, 100), (102, 102, 98, 98.5), FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (1.0, 2.0, 102.0)
    row = first_label((100, 100.5, 99.5, 100), (99, 103, 99, 102), FLAT)
    assert (row.outcome, row.hold, row.exit_price) == (-1.0, 2.0, 99.0)


def test_timeout_exits_at_close_of_last_candle() -> None:
    row = first_label((100, 101, 99.5, 100.5), (100.5, 101.5, 99.6, 101), (101, 101.9, 100, 101.4))
    assert (row.outcome, row.hold, row.exit_price) == (0.0, 3.0, 101.4)
    assert row.ret_net == pytest.approx(0.014)


def test_barrier_after_horizon_is_ignored() -> None:
    row = first_label((100, 101, 99.5, 100.5), FLAT, FLAT, (100, 110, 100, 110))
    assert row.outcome == 0.0


def test_fees_on_both_sides() -> None:
    spec = BarrierSpec(k_tp=2.0, k_sl=1.0, horizon=3, fee=0.001)
    df = frame(FLAT, (100, 102, 100, 101), FLAT, FLAT)
    row = triple_barrier_labels(df, ones(df), spec).iloc[0]
    assert row.ret_net == pytest.approx(102 * 0.999 / (100 * 1.001) - 1)


def test_last_horizon_rows_have_no_label() -> None:
    df = frame(*[FLAT] * 10)
    labels = triple_barrier_labels(df, ones(df), SPEC)
    assert labels.iloc[-SPEC.horizon :].isna().all().all()
    assert labels.iloc[: -SPEC.horizon].notna().all().all()
    assert list(labels.columns) == list(LABEL_COLUMNS)
    assert labels.index.equals(df.index)


def test_too_short_frame_is_all_nan() -> None:
    df = frame(*[FLAT] * SPEC.horizon)
    labels = triple_barrier_labels(df, ones(df), SPEC)
    assert labels.shape == (SPEC.horizon, len(LABEL_COLUMNS))
    assert labels.isna().all().all()


def test_invalid_atr_gives_nan_row_only_there() -> None:
    df = frame(*[FLAT] * 8)
    atr = pd.Series([np.nan, 0.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0], index=df.index)
    labels = triple_barrier_labels(df, atr, SPEC)
    assert labels.iloc[:3].isna().all().all()
    assert labels.iloc[3:5].notna().all().all()


def test_invalid_price_voids_every_window_containing_it() -> None:
    candles = [FLAT] * 10
    candles[5] = (100.0, 100.0, 100.0, np.nan)
    df = frame(*candles)
    labeled = triple_barrier_labels(df, ones(df), SPEC)["outcome"].notna()
    # Windows t+1..t+3 contain candle 5 for t = 2, 3, 4.
    assert labeled.tolist() == [True, True, False, False, False, True, True, False, False, False]


def test_misaligned_atr_is_rejected() -> None:
    df = frame(*[FLAT] * 5)
    with pytest.raises(ValueError, match="indexed exactly like df"):
        triple_barrier_labels(df, pd.Series(1.0, index=range(1, 6)), SPEC)
    with pytest.raises(ValueError, match="shape"):
        triple_barrier_labels(df, np.ones(4), SPEC)
    with pytest.raises(ValueError, match="close"):
        triple_barrier_labels(df.drop(columns="close"), ones(df), SPEC)


def test_labels_keep_a_datetime_index_and_accept_numpy_atr() -> None:
    df = frame(*[FLAT] * 6)
    df.index = pd.date_range("2025-01-01", periods=6, freq="h", tz="UTC")
    labels = triple_barrier_labels(df, np.ones(6), SPEC)
    assert labels.index.equals(df.index)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k_tp": 0.0}, "k_tp"),
        ({"k_tp": math.nan}, "k_tp"),
        ({"k_sl": -1.0}, "k_sl"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2.5}, "horizon"),
        ({"horizon": True}, "horizon"),
        ({"fee": -0.001}, "fee"),
        ({"fee": 0.1}, "fee"),
    ],
)
def test_spec_validation_names_the_field(kwargs: dict[str, float], field: str) -> None:
    args: dict[str, float] = {"k_tp": 2.0, "k_sl": 1.0, "horizon": 24, "fee": 0.001} | kwargs
    with pytest.raises(ValueError, match=f"BarrierSpec.{field}"):
        BarrierSpec(**args)  # type: ignore[arg-type]


def test_barrier_levels_scalar_and_vector_agree() -> None:
    spec = BarrierSpec(k_tp=1.5, k_sl=0.75, horizon=12)
    entries = np.array([100.0, 61234.56, 0.1234])
    atrs = np.array([2.0, 321.0, 0.0017])
    tp, sl = barrier_levels(entries, atrs, spec)
    for e, a, t, s in zip(entries, atrs, tp, sl, strict=True):
        assert barrier_levels(float(e), float(a), spec) == (t, s)  # bit-identical
    assert barrier_levels(100.0, 2.0, spec) == (103.0, 98.5)


def test_label_end_index() -> None:
    assert label_end_index(5, 3).tolist() == [3, 4, 5, 6, 7]
    assert label_end_index(0, 3).size == 0
    with pytest.raises(ValueError):
        label_end_index(5, -1)


@st.composite
def price_paths(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, BarrierSpec]:
    """Small OHLC paths on a 0.5 grid so barrier ties and exact gaps happen often."""
    n = draw(st.integers(1, 40))
    horizon = draw(st.integers(1, 6))
    level = draw(st.integers(180, 220))  # price in half units
    candles = []
    for _ in range(n):
        o = max(2, level + draw(st.integers(-8, 8)))  # gaps between candles
        c = max(2, o + draw(st.integers(-6, 6)))
        h = max(o, c) + draw(st.integers(0, 4))
        lo = max(1, min(o, c) - draw(st.integers(0, 4)))
        candles.append([o / 2, h / 2, lo / 2, c / 2])
        level = c
    prices = np.array(candles)
    for cell in draw(st.lists(st.integers(0, n * 4 - 1), max_size=2)):
        prices.flat[cell] = draw(st.sampled_from([np.nan, 0.0]))
    atr = np.array(
        draw(
            st.lists(
                st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 0.0, np.nan]), min_size=n, max_size=n
            )
        )
    )
    spec = BarrierSpec(
        k_tp=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])),
        k_sl=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0])),
        horizon=horizon,
        fee=draw(st.sampled_from([0.0, 0.001, 0.0075])),
    )
    df = pd.DataFrame(prices, columns=["open", "high", "low", "close"])
    return df, atr, spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(price_paths())
def test_vectorised_equals_reference(case: tuple[pd.DataFrame, np.ndarray, BarrierSpec]) -> None:
    df, atr, spec = case
    fast = triple_barrier_labels(df, atr, spec)
    slow = _triple_barrier_labels_reference(df, atr, spec)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(price_paths(), st.integers(0, 40))
def test_label_uses_only_its_own_window(
    case: tuple[pd.DataFrame, np.ndarray, BarrierSpec], cut: int
) -> None:
    """Truncating the data after t+H cannot change row t's label (no look-ahead beyond H)."""
    df, atr, spec = case
    cut = min(cut, len(df))
    full = triple_barrier_labels(df, atr, spec)
    short = triple_barrier_labels(df.iloc[:cut], atr[:cut], spec)
    complete = max(0, cut - spec.horizon)
    pd.testing.assert_frame_equal(short.iloc[:complete], full.iloc[:complete])


def _wilder_atr(df: pd.DataFrame, period: int = 14) -> pd.Series:
    prev_close = df["close"].shift()
    true_range = pd.concat(
        [df["high"] - df["low"], (df["high"] - prev_close).abs(), (df["low"] - prev_close).abs()],
        axis=1,
    ).max(axis=1)
    return true_range.ewm(alpha=1 / period, adjust=False, min_periods=period).mean()


def test_real_btc_candles_match_reference_and_are_plausible() -> None:
    df = pd.read_feather(BTC_1H)
    atr = _wilder_atr(df)
    spec = BarrierSpec(k_tp=2.0, k_sl=1.0, horizon=24, fee=0.001)
    fast = triple_barrier_labels(df, atr, spec)
    pd.testing.assert_frame_equal(fast, _triple_barrier_labels_reference(df, atr, spec))

    labeled = fast.dropna()
    assert len(labeled) == len(df) - spec.horizon - atr.isna().sum()
    assert set(labeled["outcome"].unique()) <= {-1.0, 0.0, 1.0}
    assert labeled["hold"].between(1, spec.horizon).all()
    # Without a gap, exits sit exactly on the barrier; gaps only ever exit beyond it.
    tp_rows = labeled[labeled["outcome"] == 1.0]
    sl_rows = labeled[labeled["outcome"] == -1.0]
    assert (tp_rows["exit_price"] >= tp_rows["tp_price"]).all()
    assert (sl_rows["exit_price"] <= sl_rows["sl_price"]).all()
    assert (tp_rows["ret_net"] > 0).all()
    assert (sl_rows["ret_net"] < 0).all()
