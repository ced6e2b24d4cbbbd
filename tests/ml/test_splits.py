"""Purged/embargoed splits: no training label window may reach validation or test rows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.labels import label_end_index
from tribar.splits import purged_train_validation_split, walk_forward_windows


def test_exact_layout() -> None:
    train, val = purged_train_validation_split(100, horizon=5, validation_fraction=0.2, embargo=3)
    assert val.tolist() == list(range(80, 100))
    # Last training row t = 71: its label window 72..76 ends before the embargo rows 77..79.
    assert train.tolist() == list(range(72))
    assert train.dtype == np.int64 and val.dtype == np.int64


@given(
    n=st.integers(2, 3000),
    horizon=st.integers(0, 50),
    fraction=st.floats(0.01, 0.99),
    embargo=st.integers(0, 50),
)
def test_no_training_label_reaches_validation_or_embargo(
    n: int, horizon: int, fraction: float, embargo: int
) -> None:
    try:
        train, val = purged_train_validation_split(n, horizon, fraction, embargo)
    except ValueError:
        # Only legitimate when a part would be empty.
        n_val = math.floor(n * fraction)
        assert n_val < 1 or n - n_val - embargo - horizon < 1
        return
    val_start = int(val[0])
    assert val.tolist() == list(range(val_start, n))
    assert len(val) == math.floor(n * fraction)
    assert train.tolist() == list(range(len(train)))
    assert label_end_index(n, horizon)[train].max() < val_start - embargo
    # Purge + embargo remove exactly horizon + embargo rows: nothing more is thrown away.
    assert val_start - len(train) == horizon + embargo


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((100, 5, 0.0, 0), "validation_fraction"),
        ((100, 5, 1.0, 0), "validation_fraction"),
        ((100, 5, math.nan, 0), "validation_fraction"),
        ((100, -1, 0.2, 0), "horizon"),
        ((100, 5, 0.2, -1), "embargo"),
        ((-1, 5, 0.2, 0), "n"),
        ((5, 1, 0.1, 0), "no validation row"),
        ((20, 10, 0.5, 0), "no training rows"),
    ],
)
def test_invalid_arguments(args: tuple[int, int, float, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        purged_train_validation_split(*args)


HOURLY = pd.date_range("2025-01-01", periods=100 * 24, freq="h", tz="UTC")


def test_walk_forward_folds_are_purged_ordered_and_tile_the_test_period() -> None:
    folds = list(walk_forward_windows(HOURLY, 30, 10, 10, horizon=24))
    assert len(folds) == 7  # test windows start on days 30, 40, ..., 90
    for k, fold in enumerate(folds):
        assert fold.fold == k
        assert len(fold.test_idx) == 10 * 24
        assert len(fold.train_idx) == 30 * 24 - 24  # the purge drops exactly H candles
        assert HOURLY[fold.train_idx].max() < fold.test_start <= HOURLY[fold.test_idx].min()
        assert HOURLY[fold.test_idx].max() < fold.test_end
        assert fold.train_idx.max() + 24 < fold.test_idx.min()
    for before, after in itertools.pairwise(folds):
        assert before.test_end == after.test_start
    assert folds[-1].test_idx[-1] == len(HOURLY) - 1


def test_walk_forward_anchored_and_bounds() -> None:
    folds = list(
        walk_forward_windows(
            HOURLY, 20, 5, 5, start="2025-01-11", end="2025-03-01", horizon=0, anchored=True
        )
    )
    start = pd.Timestamp("2025-01-11", tz="UTC")
    assert all(fold.train_start == start for fold in folds)
    assert all(HOURLY[fold.train_idx[0]] == start for fold in folds)
    assert folds[0].test_start == start + pd.Timedelta(days=20)
    assert folds[-1].test_end <= pd.Timestamp("2025-03-01", tz="UTC")
    assert len(folds[1].train_idx) > len(folds[0].train_idx)


def test_walk_forward_yields_only_complete_test_windows() -> None:
    assert list(walk_forward_windows(HOURLY, 95, 10, 1)) == []
    assert list(walk_forward_windows(HOURLY[:0], 1, 1, 1)) == []


def test_walk_forward_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        list(walk_forward_windows(HOURLY[::-1], 10, 5, 5))
    with pytest.raises(ValueError, match="test_days"):
        list(walk_forward_windows(HOURLY, 10, 0, 5))
    with pytest.raises(TypeError):
        list(walk_forward_windows(pd.Index(range(10)), 10, 5, 5))  # type: ignore[arg-type]
