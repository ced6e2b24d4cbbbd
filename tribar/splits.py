"""Time-ordered train/validation splits that cannot leak labels across the boundary.

A triple-barrier label of row ``t`` is computed from candles ``t+1 … t+H``. A training row near
the end of the training block therefore "knows" prices inside the validation block; such rows are
purged. An embargo then drops further candles just before validation, because features built on
rolling windows are serially correlated and would otherwise let validation rows resemble the last
training rows too closely (López de Prado, *Advances in Financial ML*, §7.4).

Layout of :func:`purged_train_validation_split` (indices increase to the right)::

    [ train ........ | purge (H) | embargo (E) | validation ........ ]
                     ^ first row whose label reaches the embargo gap

so the last training row ``t`` satisfies ``t + H < val_start - embargo``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]


def _check_non_negative_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")


def purged_train_validation_split(
    n: int, horizon: int, validation_fraction: float, embargo: int
) -> tuple[IntArray, IntArray]:
    """Positional ``(train_idx, val_idx)`` for ``n`` time-ordered rows (no shuffling).

    Validation is the last ``floor(n * validation_fraction)`` rows. Training rows are those whose
    label window ``t+1 … t+horizon`` ends before the ``embargo`` candles that precede validation:
    ``t <= val_start - embargo - horizon - 1``. Raises ``ValueError`` when either part is empty.
    """
    _check_non_negative_int("n", n)
    _check_non_negative_int("horizon", horizon)
    _check_non_negative_int("embargo", embargo)
    if not (
        isinstance(validation_fraction, int | float)
        and math.isfinite(validation_fraction)
        and 0.0 < validation_fraction < 1.0
    ):
        raise ValueError(
            f"validation_fraction must be in the open interval (0, 1), got {validation_fraction!r}"
        )
    n_val = math.floor(n * validation_fraction)
    if n_val < 1:
        raise ValueError(
            f"validation_fraction={validation_fraction} of n={n} rows leaves no validation row"
        )
    val_start = n - n_val
    train_stop = val_start - embargo - horizon  # exclusive
    if train_stop < 1:
        raise ValueError(
            f"no training rows left: n={n}, validation={n_val} rows, horizon={horizon} and "
            f"embargo={embargo} remove the first {val_start} rows entirely"
        )
    return np.arange(train_stop, dtype=np.int64), np.arange(val_start, n, dtype=np.int64)


@dataclass(frozen=True)
class WalkForwardWindow:
    """One walk-forward fold. Bounds are half-open ``[start, end)``; indices are positional.

    ``train_idx`` is already purged: no training label window reaches ``test_start``.
    """

    fold: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    train_idx: IntArray
    test_idx: IntArray


def _as_utc_timestamp(value: pd.Timestamp | str, tz: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    return ts


def walk_forward_windows(
    index: pd.DatetimeIndex,
    train_days: float,
    test_days: float,
    step_days: float,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    *,
    horizon: int = 0,
    anchored: bool = False,
) -> Iterator[WalkForwardWindow]:
    """Walk-forward folds over a sorted candle ``index`` between ``start`` and ``end``.

    Fold ``k`` tests on ``[test_start, test_start + test_days)`` with
    ``test_start = start + train_days + k * step_days``, and trains on the ``train_days`` before
    it (``anchored=True``: everything from ``start``), minus the last ``horizon`` candles whose
    labels would look into the test window — pass the label horizon, or the gap is zero. Only
    complete test windows (``test_end <= end``) are produced. ``end`` defaults to the close of
    the last candle (its open plus the candle period).
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"index must be a pandas DatetimeIndex, got {type(index).__name__}")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise ValueError("index must be strictly increasing (sorted, no duplicate candles)")
    for name, days in (
        ("train_days", train_days),
        ("test_days", test_days),
        ("step_days", step_days),
    ):
        if not (isinstance(days, int | float) and math.isfinite(days) and days > 0):
            raise ValueError(f"{name} must be a number of days > 0, got {days!r}")
    _check_non_negative_int("horizon", horizon)
    if len(index) == 0:
        return

    first = index[0] if start is None else _as_utc_timestamp(start, index.tz)
    if end is None:
        # The last candle lasts one candle period (the smallest spacing) past its open time.
        period = (index[1:] - index[:-1]).min() if len(index) > 1 else pd.Timedelta(1, "ns")
        last = index[-1] + period
    else:
        last = _as_utc_timestamp(end, index.tz)
    train_len, test_len = pd.Timedelta(days=train_days), pd.Timedelta(days=test_days)
    step = pd.Timedelta(days=step_days)

    fold = 0
    test_start = first + train_len
    while test_start + test_len <= last:
        test_end = test_start + test_len
        train_start = first if anchored else test_start - train_len
        lo, mid, hi = index.searchsorted([train_start, test_start, test_end], side="left")
        train_stop = max(lo, mid - horizon)
        yield WalkForwardWindow(
            fold=fold,
            train_start=train_start,
            train_end=test_start,
            test_start=test_start,
            test_end=test_end,
            train_idx=np.arange(lo, train_stop, dtype=np.int64),
            test_idx=np.arange(mid, hi, dtype=np.int64),
        )
        fold += 1
        test_start = test_start + step
