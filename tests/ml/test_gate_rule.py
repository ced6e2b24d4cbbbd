"""The edge gate's opening rule (single / consecutive), its on-disk history and the placebo
label shuffle used to measure its false-positive rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.ml import placebo
from tribar.ml.gate_history import GateHistory, judge
from tribar.ml.gate_rule import (
    CONSECUTIVE,
    SINGLE,
    GateRecord,
    gate_opens,
    gate_rule,
    previous_independent,
)

DAY = pd.Timedelta(days=1)
H = pd.Timedelta(hours=24)
START = pd.Timestamp("2025-01-01", tz="UTC")


def record(train_end_day: float, passed: bool, cal_days: float = 18.0) -> GateRecord:
    """A training ending ``train_end_day`` days after START, its calibration block the last
    ``cal_days`` days before its purged tail (as the shipped 90-day window has it)."""
    end = START + train_end_day * DAY
    return GateRecord(end, end - H - cal_days * DAY, end - H, passed, 0.55, 1.0)


# --- the rule -------------------------------------------------------------------------------


@given(test=st.booleans(), previous=st.sampled_from([None, True, False]))
def test_consecutive_opens_only_when_both_tests_passed(test: bool, previous: bool | None) -> None:
    prior = None if previous is None else record(0, previous)
    assert gate_opens(SINGLE, test, prior) is test
    assert gate_opens(CONSECUTIVE, test, prior) is (test and previous is True)


def test_backtest_slide_uses_the_last_training_and_daily_retraining_looks_further_back() -> None:
    # Backtests: 30-day slide, 18-day blocks -> the last training's block is disjoint.
    monthly = [record(d, True) for d in (0, 30, 60)]
    current = record(90, True)
    previous = previous_independent(monthly, current.calibration_start, current.train_end, H)
    assert previous == monthly[-1]
    # Live: daily retraining -> yesterday's block shares 17 of 18 days; the previous independent
    # test is the latest whose block ended a label horizon before this block began (19 d ago).
    daily = [record(d, d % 2 == 0) for d in range(0, 60)]
    current = record(60, True)
    previous = previous_independent(daily, current.calibration_start, current.train_end, H)
    assert previous is not None
    assert previous.calibration_end + H <= current.calibration_start
    assert previous.train_end == START + 41 * DAY  # 60 - 18 (block) - 1 (horizon)
    early = previous_independent(daily[:5], current.calibration_start, current.train_end, H)
    assert early == daily[4]


def test_a_later_or_overlapping_record_is_never_the_previous_one() -> None:
    current = record(60, True)
    later = [record(61, True), record(90, True), record(50, True)]  # 50: its block overlaps
    assert previous_independent(later, current.calibration_start, current.train_end, H) is None


@settings(max_examples=200)
@given(
    ends=st.lists(st.floats(0, 400, allow_nan=False), max_size=30),
    cal=st.floats(1, 40),
    now=st.floats(0, 400, allow_nan=False),
)
def test_the_previous_record_is_the_latest_eligible_one(
    ends: list[float], cal: float, now: float
) -> None:
    records = [record(e, bool(i % 2), cal) for i, e in enumerate(ends)]
    current = record(now, True, cal)
    chosen = previous_independent(records, current.calibration_start, current.train_end, H)
    eligible = [
        r for r in records
        if r.train_end < current.train_end and r.calibration_end + H <= current.calibration_start
    ]  # fmt: skip
    if not eligible:
        assert chosen is None
        return
    assert chosen in eligible
    assert all(r.calibration_end <= chosen.calibration_end for r in eligible)


def test_the_rule_setting_is_checked() -> None:
    # The shipped default (docs/strategy.md: its measured false-positive rate).
    assert gate_rule({}) == CONSECUTIVE and gate_rule({"edge_gate_rule": None}) == CONSECUTIVE
    assert gate_rule({"edge_gate_rule": "single"}) == SINGLE
    with pytest.raises(ValueError, match=r"freqai\.tribar\.edge_gate_rule.*'bh'"):
        gate_rule({"edge_gate_rule": "bh"})
    with pytest.raises(ValueError, match="unknown edge gate rule"):
        gate_opens("both", True, None)


# --- the history ----------------------------------------------------------------------------


def test_history_round_trips_replaces_a_retrained_window_and_survives_a_new_object(
    tmp_path: Path,
) -> None:
    history = GateHistory(tmp_path / "gates")
    history.record("BTC/USDT", record(30, True))
    history.record("BTC/USDT", record(0, False))
    history.record("BTC/USDT", record(30, False))  # the same window, retrained
    reloaded = GateHistory(tmp_path / "gates").load("BTC/USDT")
    assert [r.train_end for r in reloaded] == [START, START + 30 * DAY]
    assert [r.test_passed for r in reloaded] == [False, False]
    assert reloaded[0] == record(0, False)
    assert GateHistory(tmp_path / "gates").load("ETH/USDT") == []


def test_judge_records_every_test_and_uses_the_previous_one(tmp_path: Path) -> None:
    history = GateHistory(tmp_path)
    opened, previous, problem = judge(history, "SOL/USDT", record(0, True), CONSECUTIVE, H)
    assert (opened, previous, problem) == (False, None, None)  # nothing before the first
    opened, previous, _ = judge(history, "SOL/USDT", record(30, True), CONSECUTIVE, H)
    assert opened and previous == record(0, True)
    opened, previous, _ = judge(history, "SOL/USDT", record(60, False), SINGLE, H)
    assert not opened and previous == record(30, True)
    opened, _, _ = judge(history, "SOL/USDT", record(90, True), CONSECUTIVE, H)
    assert not opened  # the previous test (60) failed, although it was judged under "single"
    assert len(history.load("SOL/USDT")) == 4


def test_an_unreadable_history_closes_a_consecutive_gate_and_is_named(tmp_path: Path) -> None:
    history = GateHistory(tmp_path)
    history.file("BTC/USDT").write_text('{"records": [{"train_end": "2025-01-01"}]}')
    with pytest.raises(ValueError, match=r"BTC_USDT\.json is unreadable.*delete it"):
        history.load("BTC/USDT")
    opened, previous, problem = judge(history, "BTC/USDT", record(30, True), CONSECUTIVE, H)
    assert not opened and previous is None
    assert problem is not None and "BTC_USDT.json" in problem
    assert judge(history, "BTC/USDT", record(30, True), SINGLE, H)[0]


# --- the placebo ----------------------------------------------------------------------------


@given(n=st.integers(0, 500), block=st.integers(1, 60), seed=st.integers(0, 2**32 - 1))
def test_block_permutation_moves_whole_blocks(n: int, block: int, seed: int) -> None:
    order = placebo.block_permutation(n, block, np.random.default_rng(seed))
    assert sorted(order.tolist()) == list(range(n))
    # Cut at each block start: every piece is one original block, in its own order.
    starts = [i for i, p in enumerate(order) if p % block == 0]
    pieces = np.split(order, starts[1:]) if n else []
    assert all(list(piece) == list(range(piece[0], piece[0] + len(piece))) for piece in pieces)
    assert all(len(piece) == min(block, n - piece[0]) for piece in pieces)


def labels_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = np.where(rng.random(n) < 0.3, "tp", "no_tp")
    return pd.DataFrame({"&-tb": values}, index=np.arange(100, 100 + n))


def test_shuffled_labels_keep_rows_counts_and_are_fixed_per_seed_pair_and_window() -> None:
    labels = labels_frame(2000, seed=1)
    end = pd.Timestamp("2025-04-01", tz="UTC")
    shuffled = placebo.shuffled_labels(labels, 7, "BTC/USDT", end, 24)
    assert shuffled.index.equals(labels.index) and list(shuffled.columns) == ["&-tb"]
    assert shuffled["&-tb"].value_counts().equals(labels["&-tb"].value_counts())
    assert shuffled.equals(placebo.shuffled_labels(labels, 7, "BTC/USDT", end, 24))
    moved = (shuffled["&-tb"] != labels["&-tb"]).mean()
    assert moved > 0.3  # about 2 * 0.3 * 0.7 of rows change label under a random reordering
    for other in (
        placebo.shuffled_labels(labels, 8, "BTC/USDT", end, 24),
        placebo.shuffled_labels(labels, 7, "ETH/USDT", end, 24),
        placebo.shuffled_labels(labels, 7, "BTC/USDT", end + DAY, 24),
    ):
        assert not other.equals(shuffled)


def test_the_placebo_seed_is_for_backtests_only() -> None:
    assert placebo.placebo_seed({}, trading=True) is None
    assert placebo.placebo_seed({"placebo_shuffle_seed": 3}, trading=False) == 3
    with pytest.raises(ValueError, match=r"freqai\.tribar\.placebo_shuffle_seed.*backtests only"):
        placebo.placebo_seed({"placebo_shuffle_seed": 3}, trading=True)
    for bad in (True, -1, "1", 1.5):
        with pytest.raises(ValueError, match=r"placebo_shuffle_seed must be an integer"):
            placebo.placebo_seed({"placebo_shuffle_seed": bad}, trading=False)


def test_the_placebo_block_defaults_to_the_label_horizon() -> None:
    assert placebo.placebo_block({}, 24) == 24
    assert placebo.placebo_block({"placebo_block_candles": None}, 48) == 48
    assert placebo.placebo_block({"placebo_block_candles": 1}, 24) == 1
    for bad in (0, True, "24", 2.5):
        with pytest.raises(ValueError, match=r"freqai\.tribar\.placebo_block_candles"):
            placebo.placebo_block({"placebo_block_candles": bad}, 24)
