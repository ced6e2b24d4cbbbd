"""The barrier trade the strategy takes: its expected value, its levels, its clock.

Pure functions so the strategy callbacks stay thin and the exits provably match the labels
(``tribar.labels`` uses the same ``barrier_levels`` and ``net_return``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from tribar.labels import BarrierSpec, barrier_levels, net_return


def expected_barrier_return(
    p_take_profit: npt.ArrayLike, entry_price: npt.ArrayLike, atr: npt.ArrayLike, spec: BarrierSpec
) -> npt.NDArray[np.float64]:
    """Expected net return of the barrier trade if P(take-profit first) is ``p_take_profit``.

    Every outcome other than take-profit is valued as the stop: timeouts usually end between the
    barriers, so this understates the value, which is the safe side for an entry rule.
    Invalid inputs (NaN, p outside [0, 1], non-positive price or ATR) give NaN, never an entry.
    """
    p = np.asarray(p_take_profit, dtype=float)
    price = np.asarray(entry_price, dtype=float)
    a = np.asarray(atr, dtype=float)
    tp, sl = barrier_levels(price, a, spec)
    with np.errstate(invalid="ignore", divide="ignore"):
        win = net_return(price, tp, spec.fee)
        loss = net_return(price, np.maximum(sl, 0.0), spec.fee)
        value = p * win + (1.0 - p) * loss
    valid = (p >= 0) & (p <= 1) & (price > 0) & (a > 0) & np.isfinite(value)
    return np.where(valid, value, np.nan)


@dataclass(frozen=True)
class BarrierLevels:
    """Levels fixed at entry and stored on the trade (custom data) for exits, sizing, ledger."""

    take_profit: float
    stop: float
    atr: float
    p_take_profit: float | None

    def is_valid(self) -> bool:
        return (
            math.isfinite(self.take_profit)
            and math.isfinite(self.stop)
            and math.isfinite(self.atr)
            and self.atr > 0
            and self.take_profit > self.stop > 0
        )


# Freqtrade rounds every stop it is given up to the price tick, from a ratio to the current rate;
# the same fixed barrier recomputed against another rate can land one tick higher, which Freqtrade
# counts as a trailing move and reports as "trailing_stop_loss" (seen in a replayed 4h bot). Ticks
# of the bundled markets are below 1e-4 of the price; a barrier never moves once fixed.
STOP_TOLERANCE = 1e-3


def stop_is_at_barrier(
    current_stop: float | None, barrier_stop: float, rel_tol: float = STOP_TOLERANCE
) -> bool:
    """The trade's stop already sits on the barrier (within rounding to the price tick)."""
    if current_stop is None or not math.isfinite(current_stop) or current_stop <= 0:
        return False
    return math.isclose(current_stop, barrier_stop, rel_tol=rel_tol)


def levels_at_entry(
    entry_price: float, signal_atr: float, p_take_profit: float | None, spec: BarrierSpec
) -> BarrierLevels:
    tp, sl = barrier_levels(float(entry_price), float(signal_atr), spec)
    return BarrierLevels(
        take_profit=tp, stop=sl, atr=float(signal_atr), p_take_profit=p_take_profit
    )


def signal_candle(
    dataframe: pd.DataFrame, entry_time: datetime, timeframe: timedelta
) -> pd.Series | None:
    """The last candle that had closed when the trade was entered (its open <= entry - 1 candle).

    The entry fills at the open of the candle after the signal, so the signal candle opened one
    timeframe before the entry time. None if the frame does not reach back that far.
    """
    if dataframe.empty or "date" not in dataframe:
        return None
    cutoff = pd.Timestamp(entry_time) - pd.Timedelta(timeframe)
    eligible = dataframe.loc[dataframe["date"] <= cutoff]
    if eligible.empty:
        return None
    return eligible.iloc[-1]


def timeout_reached(
    entry_time: datetime, now: datetime, horizon: int, timeframe: timedelta
) -> bool:
    """The vertical barrier: the trade has been held ``horizon`` candles."""
    return now - entry_time >= horizon * timeframe
