"""Triple-barrier labels for long trades (López de Prado, *Advances in Financial ML*, ch. 3).

For the signal candle ``t`` (closed, so its ATR is known) a long trade is entered at the open of
candle ``t+1`` with a take-profit at ``entry + k_tp * ATR_t``, a stop at ``entry - k_sl * ATR_t``
and a vertical barrier at the close of candle ``t+H``. The path is candles ``t+1 … t+H``
inclusive; the entry candle's own high and low count, since they happen after its open.

Within one candle OHLC does not say what happened first, so the rules are:

* gap: a candle whose *open* is already at or beyond a barrier exits at that open (the order
  could not have filled at the barrier level: the market jumped over it);
* both barriers inside one candle: the stop wins (the conservative reading);
* no barrier touched: exit at the close of candle ``t+H``.

Touches are inclusive (``high >= tp``, ``low <= sl``), as a resting limit/stop order fills when
the price trades at its level.

A label needs its whole window: the last ``H`` rows, rows with a NaN or non-positive ATR, and rows
whose window ``t+1 … t+H`` holds any NaN or non-positive price are unlabeled (all columns NaN),
never a partial label.

``barrier_levels`` is the single place the barrier prices are computed; the strategy calls it at
entry so live exits and training labels agree to the last bit.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Final, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]

OUTCOME_TAKE_PROFIT: Final = 1.0
OUTCOME_STOP: Final = -1.0
OUTCOME_TIMEOUT: Final = 0.0

LABEL_COLUMNS: Final = (
    "outcome",
    "ret_net",
    "hold",
    "entry_price",
    "tp_price",
    "sl_price",
    "exit_price",
)
PRICE_COLUMNS: Final = ("open", "high", "low", "close")


@dataclass(frozen=True)
class BarrierSpec:
    """Barrier distances in ATR multiples, the vertical barrier in candles, the fee per side."""

    k_tp: float
    k_sl: float
    horizon: int
    fee: float = 0.001

    def __post_init__(self) -> None:
        for name in ("k_tp", "k_sl"):
            value = getattr(self, name)
            if not (_is_real(value) and math.isfinite(value) and value > 0):
                raise ValueError(f"BarrierSpec.{name} must be a finite number > 0, got {value!r}")
        if not (isinstance(self.horizon, int | np.integer) and not isinstance(self.horizon, bool)):
            raise ValueError(f"BarrierSpec.horizon must be an int >= 1, got {self.horizon!r}")
        if self.horizon < 1:
            raise ValueError(f"BarrierSpec.horizon must be an int >= 1, got {self.horizon!r}")
        if not (_is_real(self.fee) and 0.0 <= self.fee < 0.1):
            raise ValueError(f"BarrierSpec.fee must be in [0, 0.1) per side, got {self.fee!r}")


def _is_real(value: object) -> bool:
    # bool is an int subclass; True as a multiple or fee is certainly a mistake.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@overload
def barrier_levels(entry_price: float, atr: float, spec: BarrierSpec) -> tuple[float, float]: ...
@overload
def barrier_levels(
    entry_price: FloatArray, atr: FloatArray | float, spec: BarrierSpec
) -> tuple[FloatArray, FloatArray]: ...
@overload
def barrier_levels(
    entry_price: pd.Series, atr: pd.Series | float, spec: BarrierSpec
) -> tuple[pd.Series, pd.Series]: ...
def barrier_levels(
    entry_price: float | FloatArray | pd.Series,
    atr: float | FloatArray | pd.Series,
    spec: BarrierSpec,
) -> tuple[float | FloatArray | pd.Series, float | FloatArray | pd.Series]:
    """Take-profit and stop prices ``(entry + k_tp*atr, entry - k_sl*atr)``.

    Works element-wise on floats, numpy arrays and Series; NaN propagates (callers decide what an
    unusable ATR means). ``atr`` is the ATR of the signal candle, ``entry_price`` the fill price.
    """
    return entry_price + spec.k_tp * atr, entry_price - spec.k_sl * atr


def net_return(
    entry_price: float | FloatArray, exit_price: float | FloatArray, fee: float
) -> float | FloatArray:
    """Multiplicative return of a long round trip paying ``fee`` on both sides."""
    return exit_price * (1.0 - fee) / (entry_price * (1.0 + fee)) - 1.0


def label_end_index(n: int, horizon: int) -> npt.NDArray[np.int64]:
    """For each of ``n`` rows, the index of the last candle its label looks at: ``t + horizon``.

    Values ``>= n`` mark rows without a label. Used to purge training rows whose label window
    reaches into a validation or test block.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    return np.arange(n, dtype=np.int64) + horizon


def _price_arrays(df: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    missing = [c for c in PRICE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks price column(s) {missing}; needs {list(PRICE_COLUMNS)}")
    o, h, lo, c = (df[col].to_numpy(dtype=np.float64, na_value=np.nan) for col in PRICE_COLUMNS)
    return o, h, lo, c


def _atr_array(df: pd.DataFrame, atr: pd.Series | FloatArray) -> FloatArray:
    if isinstance(atr, pd.Series):
        # Positional use of a Series from another frame would silently shift labels in time.
        if not atr.index.equals(df.index):
            raise ValueError("atr must be indexed exactly like df (same rows, same order)")
        values = atr.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(atr, dtype=np.float64)
    if values.shape != (len(df),):
        raise ValueError(f"atr has shape {values.shape}, expected ({len(df)},)")
    return values


def _empty_labels(index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({name: np.full(len(index), np.nan) for name in LABEL_COLUMNS}, index=index)


def triple_barrier_labels(
    df: pd.DataFrame, atr: pd.Series | FloatArray, spec: BarrierSpec
) -> pd.DataFrame:
    """Triple-barrier outcome of a long trade signalled at every candle (vectorised).

    Returns a frame indexed like ``df`` with ``LABEL_COLUMNS``: ``outcome`` (1.0 take-profit,
    -1.0 stop, 0.0 vertical barrier, NaN unlabeled), ``ret_net`` (net of the fee on both sides),
    ``hold`` (candles held, 1…H; exit during the entry candle is 1), ``entry_price``,
    ``tp_price``, ``sl_price`` and ``exit_price``. See the module docstring for the rules.
    """
    o, h, lo, c = _price_arrays(df)
    atr_values = _atr_array(df, atr)
    n, horizon = len(df), spec.horizon
    m = n - horizon  # rows t = 0 … m-1 have a complete window t+1 … t+H
    if m <= 0:
        return _empty_labels(df.index)

    entry = o[1 : m + 1]
    atr_t = atr_values[:m]
    tp, sl = barrier_levels(entry, atr_t, spec)

    # Row t of each window matrix is candles t+1 … t+H (views, no copies).
    win_o = sliding_window_view(o[1:], horizon)
    win_h = sliding_window_view(h[1:], horizon)
    win_l = sliding_window_view(lo[1:], horizon)
    tp_col, sl_col = tp[:, None], sl[:, None]

    # NaN compares False everywhere, so invalid rows produce junk that is masked at the end.
    with np.errstate(invalid="ignore"):
        gap_up = win_o >= tp_col
        gap_down = win_o <= sl_col
        stop_hit = gap_down | (win_l <= sl_col)
        touched = stop_hit | gap_up | (win_h >= tp_col)

    first = touched.argmax(axis=1)  # first True; 0 when none (checked below)
    rows = np.arange(m)
    any_touch = touched[rows, first]
    # A gap up decides at the open, before the candle's low can reach the stop.
    is_gap_up = gap_up[rows, first]
    is_gap_down = gap_down[rows, first]
    is_stop = stop_hit[rows, first] & ~is_gap_up
    open_at_first = win_o[rows, first]

    outcome = np.where(is_stop, OUTCOME_STOP, OUTCOME_TAKE_PROFIT)
    exit_price = np.where(is_gap_up | is_gap_down, open_at_first, np.where(is_stop, sl, tp))
    hold = (first + 1).astype(np.float64)

    timeout = ~any_touch
    outcome[timeout] = OUTCOME_TIMEOUT
    exit_price[timeout] = c[horizon:][timeout]  # close of candle t+H
    hold[timeout] = float(horizon)

    valid = _valid_rows(o, h, lo, c, atr_t, horizon)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero/NaN entries: masked below
        ret_net = np.asarray(net_return(entry, exit_price, spec.fee))
    columns: dict[str, FloatArray] = {
        "outcome": outcome,
        "ret_net": ret_net,
        "hold": hold,
        "entry_price": entry,
        "tp_price": tp,
        "sl_price": sl,
        "exit_price": exit_price,
    }
    padded: dict[str, FloatArray] = {}
    for name, values in columns.items():
        column = np.full(n, np.nan)
        column[:m] = np.where(valid, values, np.nan)
        padded[name] = column
    return pd.DataFrame(padded, index=df.index)


def _valid_rows(
    o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray, atr_t: FloatArray, horizon: int
) -> npt.NDArray[np.bool_]:
    """Rows whose ATR is positive and whose whole window t+1 … t+H has positive finite prices."""
    with np.errstate(invalid="ignore"):
        bad_candle = ~(
            np.isfinite(o)
            & np.isfinite(h)
            & np.isfinite(lo)
            & np.isfinite(c)
            & (o > 0)
            & (h > 0)
            & (lo > 0)
            & (c > 0)
        )
        atr_ok = np.isfinite(atr_t) & (atr_t > 0)
    # Count of bad candles in each window via a prefix sum: O(n) however long the horizon.
    bad_before = np.concatenate(([0], np.cumsum(bad_candle[1:], dtype=np.int64)))
    m = len(atr_t)
    bad_in_window = bad_before[horizon : horizon + m] - bad_before[:m]
    return atr_ok & (bad_in_window == 0)


def _triple_barrier_labels_reference(
    df: pd.DataFrame, atr: pd.Series | FloatArray, spec: BarrierSpec
) -> pd.DataFrame:
    """Plain-loop statement of the same rules; the test oracle for ``triple_barrier_labels``."""
    o, h, lo, c = _price_arrays(df)
    atr_values = _atr_array(df, atr)
    n, horizon = len(df), spec.horizon
    rows: list[list[float]] = []
    for t in range(n):
        nan_row = [math.nan] * len(LABEL_COLUMNS)
        if t + horizon >= n:
            rows.append(nan_row)
            continue
        a = float(atr_values[t])
        window = range(t + 1, t + horizon + 1)
        prices_ok = all(
            math.isfinite(p) and p > 0
            for j in window
            for p in (float(o[j]), float(h[j]), float(lo[j]), float(c[j]))
        )
        if not (math.isfinite(a) and a > 0 and prices_ok):
            rows.append(nan_row)
            continue
        entry = float(o[t + 1])
        tp, sl = barrier_levels(entry, a, spec)
        outcome, exit_price, hold = OUTCOME_TIMEOUT, float(c[t + horizon]), horizon
        for j in window:
            if o[j] <= sl:
                outcome, exit_price = OUTCOME_STOP, float(o[j])
            elif o[j] >= tp:
                outcome, exit_price = OUTCOME_TAKE_PROFIT, float(o[j])
            elif lo[j] <= sl:
                outcome, exit_price = OUTCOME_STOP, sl
            elif h[j] >= tp:
                outcome, exit_price = OUTCOME_TAKE_PROFIT, tp
            else:
                continue
            hold = j - t
            break
        ret = float(net_return(entry, exit_price, spec.fee))
        rows.append([outcome, ret, float(hold), entry, tp, sl, exit_price])
    return pd.DataFrame(rows, index=df.index, columns=list(LABEL_COLUMNS), dtype=np.float64)
