"""The placebo control of the pooled model: one permutation of the window's timestamps for every
pair (tribar.ml.placebo.shuffled_pooled_labels), in the pure function and in a pooled training."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.freqaimodels.TripleBarrierLGBMPooled import TripleBarrierLGBMPooled
from tribar.ml import placebo
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
START = pd.Timestamp("2025-01-01", tz="UTC")


def pooled_rows(
    hours: int, pairs: int, seed: int, missing: float = 0.0
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=hours, freq="1h", tz="UTC")
    parts = []
    for p in range(pairs):
        keep = rng.random(hours) >= missing
        parts.append(pd.DataFrame({
            "pair": f"P{p}/USDT", "date": dates[keep],
            "&-tb": rng.choice([TAKE_PROFIT, NO_TAKE_PROFIT], size=int(keep.sum())),
        }))  # fmt: skip
    rows = pd.concat(parts, ignore_index=True)
    return rows[["&-tb"]], rows["date"], rows["pair"]


@settings(max_examples=30, deadline=None)
@given(st.integers(24, 300), st.integers(1, 4), st.integers(1, 30), st.integers(0, 2**16),
       st.sampled_from([0.0, 0.2]))  # fmt: skip
def test_one_timestamp_permutation_moves_every_pairs_labels(
    hours: int, pairs: int, block: int, seed: int, missing: float
) -> None:
    labels, dates, who = pooled_rows(hours, pairs, seed, missing)
    end = dates.max()
    moved, kept = placebo.shuffled_pooled_labels(labels, dates, who, seed, end, block)
    assert len(moved) == int(kept.sum())
    assert moved.index.equals(labels.index[kept])
    original = pd.Series(labels["&-tb"].to_numpy(), index=pd.MultiIndex.from_arrays([who, dates]))
    # One map from target to source timestamp, shared by all pairs: recover it from each pair
    # and check that every moved label is the pair's own label at that source time.
    grid = pd.DatetimeIndex(dates.unique()).sort_values()
    rng = placebo.window_rng(seed, "pooled", end)
    source = pd.Series(grid[placebo.block_permutation(len(grid), block, rng)], index=grid)
    for row, label in zip(np.flatnonzero(kept), moved["&-tb"], strict=True):
        assert original[(who.iloc[row], source[dates.iloc[row]])] == label
    if missing == 0.0:
        assert kept.all()
        for pair in who.unique():  # each pair keeps its own labels, only reordered
            mine = (who == pair).to_numpy()
            assert sorted(moved.loc[mine, "&-tb"]) == sorted(labels.loc[mine, "&-tb"])
    # Fixed per seed and window.
    again, _ = placebo.shuffled_pooled_labels(labels, dates, who, seed, end, block)
    pd.testing.assert_frame_equal(moved, again)


def test_the_cross_section_at_a_timestamp_moves_together() -> None:
    """Two pairs with identical labels keep identical labels: the correlation across pairs the
    pooled gate counts on survives the placebo."""
    labels, dates, _ = pooled_rows(500, 1, seed=3)
    both = pd.concat([labels, labels], ignore_index=True)
    when = pd.concat([dates, dates], ignore_index=True)
    who = pd.Series(["A/USDT"] * 500 + ["B/USDT"] * 500)
    moved, kept = placebo.shuffled_pooled_labels(both, when, who, 1, dates.max(), 24)
    assert kept.all()
    a, b = moved["&-tb"].to_numpy()[:500], moved["&-tb"].to_numpy()[500:]
    np.testing.assert_array_equal(a, b)
    assert (a != labels["&-tb"].to_numpy()).any()


def test_a_pair_with_two_rows_at_one_time_is_refused() -> None:
    labels, dates, who = pooled_rows(10, 1, seed=1)
    doubled = pd.concat([labels, labels], ignore_index=True)
    with pytest.raises(ValueError, match="two rows at one timestamp"):
        placebo.shuffled_pooled_labels(doubled, pd.concat([dates, dates]), pd.concat([who, who]),
                                       1, dates.max(), 24)  # fmt: skip


# --- in the pooled training -----------------------------------------------------------------
HOURS = 2400


def informative_frames(seed: int) -> dict[str, pd.DataFrame]:
    """Hourly rows whose label follows a slowly moving, market-wide feature: a strong, real edge
    shared across the pairs (as crypto's common factor makes their outcomes correlated)."""
    rng = np.random.default_rng(seed)
    market = np.zeros(HOURS)
    for t in range(1, HOURS):
        market[t] = 0.97 * market[t - 1] + rng.normal(0, 0.25)
    frames = {}
    for pair in PAIRS:
        level = market + rng.normal(0, 0.3, HOURS)
        take_profit = rng.random(HOURS) < 1 / (1 + np.exp(1.0 - 3.0 * level))
        frames[pair] = pd.DataFrame({
            "date": pd.date_range(START, periods=HOURS, freq="1h", tz="UTC"),
            "%-level": level, "%-noise": rng.normal(size=HOURS),
            "&-tb": np.where(take_profit, TAKE_PROFIT, NO_TAKE_PROFIT),
        })  # fmt: skip
    return frames


def pooled_training(tmp_path: Path, placebo_seed: int | None) -> dict[str, Any]:
    config: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    config["user_data_dir"] = tmp_path
    config["exchange"]["pair_whitelist"] = list(PAIRS)
    config["timerange"] = "20250101-20250411"  # a backtest kitchen needs one
    config["freqai"]["identifier"] = f"tribar-test-pooled-placebo-{uuid.uuid4().hex[:8]}"
    config["freqai"].setdefault("tribar", {}).update(
        {"placebo_shuffle_seed": placebo_seed, "edge_gate_rule": "single"}
    )
    model = TripleBarrierLGBMPooled(config=config)
    frames = informative_frames(seed=11)
    model._pair_frame = lambda pair, start, stop, live: frames[pair]  # type: ignore[method-assign]
    dk = FreqaiDataKitchen(config, live=True, pair=PAIRS[0])
    dk.live = False  # a backtest's kitchen
    dk.data_path = tmp_path / uuid.uuid4().hex
    dk.find_features(frames[PAIRS[0]])
    dk.find_labels(frames[PAIRS[0]])
    stop = START + pd.Timedelta(hours=HOURS)
    window = model._train_pooled(START, stop, PAIRS[0], dk)
    assert window.pairs == PAIRS
    return window.model.metrics


@pytest.mark.freqtrade
def test_the_placebo_removes_the_pooled_edge_and_the_gate_stays_shut(tmp_path: Path) -> None:
    real = pooled_training(tmp_path, placebo_seed=None)
    assert real["edge_gate"]["passed"], real["edge_gate"]
    assert "placebo" not in real
    for seed in (1, 2):
        shuffled = pooled_training(tmp_path, placebo_seed=seed)
        assert shuffled["placebo"]["shuffle_seed"] == seed
        assert not shuffled["edge_gate"]["passed"], shuffled["edge_gate"]
        assert abs(shuffled["edge_gate"]["auc"] - 0.5) < abs(real["edge_gate"]["auc"] - 0.5)
