"""Freqtrade's drawdown arithmetic on numpy arrays of per-trade pnl in close order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def running_peak(cumulative: NDArray[np.float64]) -> NDArray[np.float64]:
    """Freqtrade's ``high_value`` (``_calc_drawdown_series``): the running maximum of the
    cumulative pnl, never below 0, as the starting balance is the first peak."""
    peak = np.maximum.accumulate(cumulative)
    return np.maximum(peak, 0.0, out=peak)


@dataclass(frozen=True)
class Drawdowns:
    """Freqtrade's two maximum drawdowns of a per-trade series (``calculate_max_drawdown``
    without and with ``relative=True``): positions are trade indexes in close order."""

    money: float
    peak_index: int
    trough_index: int
    relative: float


def drawdowns(pnl: NDArray[np.float64], starting_balance: float) -> Drawdowns:
    """``calculate_max_drawdown``'s arithmetic on numpy arrays, figure for figure.

    Freqtrade's series starts with a zero row (cumulative 0, peak 0: the starting balance);
    the money drawdown is the first minimum of cumulative - peak, its peak the first maximum of
    the peak up to there, the relative one the first maximum of (peak balance - balance) / peak
    balance; row ``i`` is trade ``i - 1`` and the zero row is reported as the first trade. Here
    the zero row is not built but decided on: it wins the minimum when no trade falls below a
    peak, and the maximum of the peak while the peak is still the starting balance (0).

    The same sums and comparisons as Freqtrade's pandas code, without its two DataFrames of a
    million rows each (which were most of the summary's time after the fetch)."""
    cumulative = np.cumsum(pnl)
    high = running_peak(cumulative)
    fall = cumulative - high  # Freqtrade's "drawdown": <= 0
    trough = int(np.argmin(fall))
    money, peak_index = 0.0, 0
    if fall[trough] < 0:
        top = int(np.argmax(high[: trough + 1]))
        money, peak_index = -float(fall[trough]), top if high[top] > 0 else 0
    else:
        trough = 0
    peak_balance = high
    peak_balance += starting_balance
    relative = (peak_balance - (cumulative + starting_balance)) / peak_balance
    return Drawdowns(
        money=money,
        peak_index=peak_index,
        trough_index=trough,
        relative=max(float(relative.max()), 0.0),
    )
