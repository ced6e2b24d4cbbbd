"""Placebo trainings for measuring the edge gate's false-positive rate (a diagnostic only).

With ``freqai.tribar.placebo_shuffle_seed`` set, each training's labels are permuted before
fitting, so whatever edge its calibration block shows is chance by construction; the share of
placebo trainings the gate opens is its false-positive rate (bench/bench_gate_fpr.py). The
pooled model (``tribar.designs.pooled_model``) permutes the timestamps of all its pairs at once
(``shuffled_pooled_labels``).

The labels are permuted in blocks of ``H`` consecutive rows (the label horizon), not row by row.
Triple-barrier labels of neighbouring rows share up to ``H`` candles of outcome, and the gate's
standard error counts ``rows / H`` independent outcomes for exactly that reason. A row-wise
permutation would make the labels independent, the gate's standard error far too wide for them,
and the measured false-positive rate misleadingly low; block permutation keeps the labels' own
clustering and the base rate, and breaks only their link to the features.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

SETTING = "freqai.tribar.placebo_shuffle_seed"


def placebo_seed(tribar_settings: Mapping[str, Any], trading: bool) -> int | None:
    """The configured seed (None: real labels). ``trading``: dry-run or live, which must never
    train on shuffled labels."""
    value = tribar_settings.get("placebo_shuffle_seed")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{SETTING} must be an integer >= 0 or null, got {value!r}")
    if trading:
        raise ValueError(
            f"{SETTING} is set ({value}): a diagnostic that trains every model on shuffled "
            "labels, for backtests only; remove it (or set it to null) to run dry-run or live"
        )
    return value


def placebo_block(tribar_settings: Mapping[str, Any], horizon: int) -> int:
    """``freqai.tribar.placebo_block_candles``: rows per permuted block; the label horizon when
    absent (the overlap the gate's standard error assumes). Longer blocks keep slower label
    clustering (multi-day regimes) too; 1 permutes row by row."""
    value = tribar_settings.get("placebo_block_candles")
    if value is None:
        return max(horizon, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"freqai.tribar.placebo_block_candles must be an integer >= 1 or null, got {value!r}"
        )
    return value


def block_permutation(n: int, block: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Positions ``0..n-1`` cut into runs of ``block`` (the last may be shorter), the runs in a
    random order."""
    if n < 0 or block < 1:
        raise ValueError(f"need n >= 0 and block >= 1, got n={n}, block={block}")
    starts = np.arange(0, n, block)
    order = rng.permutation(len(starts))
    if len(order) == 0:
        return np.arange(0, dtype=np.int64)
    return np.concatenate([np.arange(s, min(s + block, n)) for s in starts[order]]).astype(np.int64)


def window_rng(seed: int, pair: str, train_end: pd.Timestamp) -> np.random.Generator:
    """Fixed per seed, pair and training window (Python's ``hash`` is salted per process)."""
    return np.random.default_rng(
        [seed, zlib.crc32(pair.encode()), int(pd.Timestamp(train_end).timestamp())]
    )


def shuffled_labels(
    labels: pd.DataFrame, seed: int, pair: str, train_end: pd.Timestamp, block: int
) -> pd.DataFrame:
    """``labels`` (time-ordered rows) with their values moved by a block permutation; the index
    (the rows' features) stays where it is."""
    positions = block_permutation(len(labels), max(block, 1), window_rng(seed, pair, train_end))
    return pd.DataFrame(
        labels.to_numpy()[positions], index=labels.index, columns=labels.columns
    ).astype(labels.dtypes.to_dict())


def shuffled_pooled_labels(
    labels: pd.DataFrame, dates: pd.Series, pairs: pd.Series, seed: int,
    train_end: pd.Timestamp, block: int,
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:  # fmt: skip
    """A pooled training's labels (rows of several pairs) moved by one block permutation of the
    window's timestamps, the same for every pair: the row of pair ``p`` at time ``t`` gets
    ``p``'s label at ``π(t)``.

    One permutation for all pairs keeps what the pooled gate assumes of the labels: their
    clustering in time and their correlation across pairs at equal timestamps (it counts a
    timestamp's cross-section as one outcome). Permuting each pair on its own would make the
    pairs' labels independent, the gate's standard error too wide for them, and the measured
    false-positive rate misleadingly low. Returns the new labels of the rows that keep one (a
    row whose source timestamp the pair has no label at is dropped) and which rows those are.
    """
    when = pd.to_datetime(pd.Series(dates).reset_index(drop=True), utc=True)
    who = pd.Series(pairs).reset_index(drop=True).astype(str)
    if not (len(labels) == len(when) == len(who)):
        raise ValueError(
            f"labels, dates and pairs differ in length: {len(labels)}, {len(when)}, {len(who)}"
        )
    grid = pd.DatetimeIndex(when.unique()).sort_values()
    rng = window_rng(seed, "pooled", train_end)
    source_of = pd.Series(grid[block_permutation(len(grid), max(block, 1), rng)], index=grid)
    keys = pd.MultiIndex.from_arrays([who, when])
    if keys.has_duplicates:
        raise ValueError("pooled labels: a pair has two rows at one timestamp")
    values = labels.reset_index(drop=True)
    values.index = keys
    wanted = pd.MultiIndex.from_arrays([who, pd.DatetimeIndex(source_of.loc[when].to_numpy())])
    moved = values.reindex(wanted)
    kept = moved.notna().all(axis=1).to_numpy()
    out = pd.DataFrame(moved.to_numpy()[kept], index=labels.index[kept], columns=labels.columns)
    return out.astype(labels.dtypes.to_dict()), kept
