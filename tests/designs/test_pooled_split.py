"""The pooled model's time-ordered split across pairs (tribar.designs.pooled_model): blocks cut
on timestamps, so no training row's label window reaches a later block for any pair, with the
embargo respected; labels past the window end purged; the edge gate's overlap arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.designs.pooled_model import (
    CALIBRATION,
    DROPPED,
    TRAIN,
    VALIDATION,
    cross_pair_time_split,
    gate_overlap,
    label_correlation,
    pooled_settings,
    purge_labels_past,
    recency_weights,
)

CANDLE = pd.Timedelta(hours=1)
T0 = pd.Timestamp("2025-01-01", tz="UTC")


@st.composite
def pooled_rows(draw: st.DrawFn) -> tuple[pd.Series, pd.Series]:
    """Rows of 1-5 pairs with their own first candle and random missing candles, stacked pair
    after pair (as the pooled training set is)."""
    n_pairs = draw(st.integers(min_value=1, max_value=5))
    dates, pairs = [], []
    for k in range(n_pairs):
        first = draw(st.integers(min_value=0, max_value=60))
        length = draw(st.integers(min_value=150, max_value=400))
        seed = draw(st.integers(min_value=0, max_value=10_000))
        keep = np.random.default_rng(seed).random(length) > draw(st.floats(0.0, 0.3))
        stamps = T0 + (first + np.flatnonzero(keep)) * CANDLE
        dates.extend(stamps)
        pairs.extend([f"P{k}/USDT"] * len(stamps))
    return pd.Series(pd.DatetimeIndex(dates)), pd.Series(pairs)


@settings(max_examples=60, deadline=None)
@given(
    rows=pooled_rows(),
    horizon=st.integers(min_value=1, max_value=24),
    embargo=st.integers(min_value=0, max_value=24),
)
def test_no_training_label_window_reaches_a_later_block_for_any_pair(
    rows: tuple[pd.Series, pd.Series], horizon: int, embargo: int
) -> None:
    dates, pairs = rows
    try:
        split = cross_pair_time_split(dates, CANDLE, horizon, 0.2, 0.2, embargo)
    except ValueError:
        return  # too short for three blocks: training refuses, nothing to check
    block = split.block
    train, val, cal = (dates[block == b] for b in (TRAIN, VALIDATION, CALIBRATION))
    assert len(train) and len(val) and len(cal)
    gap = (horizon + embargo) * CANDLE
    # A label at t reads candles t+1 .. t+H; the E candles after them belong to no block.
    assert train.max() + gap < split.validation_start <= val.min()
    assert val.max() + gap < split.calibration_start <= cal.min()
    for pair in pairs.unique():
        mine = pairs == pair
        for earlier, later_start in ((TRAIN, split.validation_start),
                                     (VALIDATION, split.calibration_start)):  # fmt: skip
            rows_of_pair = dates[mine & (block == earlier)]
            if len(rows_of_pair):
                assert (rows_of_pair + horizon * CANDLE < later_start - embargo * CANDLE).all()
    # Cut on timestamps: all pairs' rows at one timestamp land in the same block.
    per_stamp = pd.DataFrame({"date": dates, "block": block}).groupby("date")["block"].nunique()
    assert (per_stamp == 1).all()
    # Only the purge + embargo gaps are dropped.
    dropped = dates[block == DROPPED]
    in_gap = ((dropped < split.validation_start) & (dropped >= split.validation_start - gap)) | (
        (dropped < split.calibration_start) & (dropped >= split.calibration_start - gap)
    )
    assert in_gap.all()


def test_split_refuses_dates_off_the_candle_grid() -> None:
    dates = pd.Series([T0, T0 + pd.Timedelta(minutes=30)])
    with pytest.raises(ValueError, match="grid"):
        cross_pair_time_split(dates, CANDLE, 1, 0.2, 0.2, 0)


def test_labels_whose_barrier_runs_past_the_window_end_are_purged() -> None:
    horizon, n = 5, 40
    frame = pd.DataFrame({"date": T0 + np.arange(n) * CANDLE, "&-tb": ["tp"] * n})
    stop = T0 + 30 * CANDLE  # exclusive: the window's last candle is T0 + 29h
    purged = purge_labels_past(frame, ["&-tb"], stop, CANDLE, horizon)
    labelled = pd.to_datetime(purged.loc[purged["&-tb"].notna(), "date"])
    # The last label kept needs candles up to t + H = the window's last candle.
    assert labelled.max() + horizon * CANDLE == stop - CANDLE
    assert purged["&-tb"].notna().sum() == 30 - horizon


def test_recency_weights_are_equal_across_pairs_at_one_timestamp() -> None:
    position = np.array([0, 5, 9, 0, 5, 9])
    weights = recency_weights(position, 10, 0.9)
    np.testing.assert_allclose(weights[:3], weights[3:])
    assert weights[2] == pytest.approx(1.0) and weights[0] < weights[1] < weights[2]
    np.testing.assert_array_equal(recency_weights(position, 10, 0), np.ones(6))


def test_gate_overlap_counts_a_fully_correlated_cross_section_as_one_outcome() -> None:
    # 3 pairs at every timestamp: with rho = 1 the pooled block has one pair's effective count.
    assert gate_overlap(24, 300, 100, 1.0) == pytest.approx(72.0)
    assert gate_overlap(24, 300, 100, 0.0) == pytest.approx(24.0)
    assert gate_overlap(24, 300, 100, 0.5) == pytest.approx(48.0)


def test_label_correlation_estimate() -> None:
    dates = pd.Series(np.repeat(T0 + np.arange(50) * CANDLE, 2))
    pairs = pd.Series(["A", "B"] * 50)
    y = np.repeat(np.random.default_rng(1).integers(0, 2, 50), 2)
    assert label_correlation(dates, pairs, y) == pytest.approx(1.0)
    assert label_correlation(dates[::2], pairs[::2], y[::2]) is None


def test_pooled_settings_are_validated() -> None:
    assert pooled_settings({}).expanding_history is False
    assert pooled_settings({"tribar": {"pooled": {"expanding_history": True}}}).expanding_history
    for bad in ({"expanding_history": "yes"}, {"gate_pair_correlation": 1.5}, {"typo": 1}):
        with pytest.raises(ValueError, match=r"freqai\.tribar\.pooled"):
            pooled_settings({"tribar": {"pooled": bad}})
