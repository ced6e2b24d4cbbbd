"""Volatility scaling: shrink positions when a pair is wilder than usual, grow them when calm.

``volatility_scale`` multiplies the Kelly fraction by baseline/current ATR, so a position's
expected price swing in stake currency stays roughly constant across regimes. The clamp keeps a
freak ATR reading (a data gap, a flash crash) from sizing a trade to zero or to a multiple.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tribar.risk._numbers import finite_float, positive_float

DEFAULT_SCALE_MIN = 0.2
DEFAULT_SCALE_MAX = 2.0
# 14 days of 1h candles: long enough that one volatile week does not become "normal".
DEFAULT_BASELINE_WINDOW = 336


def volatility_scale(
    current_atr: Any,
    baseline_atr: Any,
    lo: Any = DEFAULT_SCALE_MIN,
    hi: Any = DEFAULT_SCALE_MAX,
) -> float:
    """``baseline_atr / current_atr`` clamped to ``[lo, hi]``.

    Returns 0.0 ("no trade") when either ATR is ≤ 0, NaN, inf or non-numeric — including the
    warm-up candles where the baseline is still NaN — and when the bounds are invalid
    (not finite, ``lo`` ≤ 0 or ``lo`` > ``hi``).
    """
    current = positive_float(current_atr)
    baseline = positive_float(baseline_atr)
    low = positive_float(lo)
    high = finite_float(hi)
    if current is None or baseline is None or low is None or high is None or low > high:
        return 0.0
    # An overflow to inf (tiny current ATR) is just "very calm": the clamp handles it.
    return min(max(baseline / current, low), high)


def rolling_baseline_atr(
    atr: pd.Series, window: int = DEFAULT_BASELINE_WINDOW, min_periods: int | None = None
) -> pd.Series:
    """Rolling median of the *previous* ``window`` ATR values of one pair (no lookahead).

    Row t uses rows t-window … t-1, so a spike at t does not soften its own scaling.
    Non-positive and non-finite ATR values count as missing. Rows with fewer than
    ``min_periods`` (default: ``window``) valid past values are NaN, which
    ``volatility_scale`` turns into "no trade"; set the strategy's ``startup_candle_count``
    to at least ``window + 1`` so backtests start with a baseline.

    Raises ValueError for a window < 1 or min_periods outside [1, window]: those come from
    the configuration at start-up, not from market data.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    periods = window if min_periods is None else min_periods
    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= window:
        raise ValueError(f"min_periods must be an integer in [1, {window}], got {min_periods!r}")
    values = pd.to_numeric(atr, errors="coerce").astype("float64")
    values = values.where(np.isfinite(values) & (values > 0.0))
    return values.shift(1).rolling(window=window, min_periods=periods).median()
