"""Trade context from a backtest's signal candles, which Freqtrade's trade export lacks.

A live trade carries the strategy's custom data (``tribar_p_tp``: the model's P(take-profit) at
entry, ``tribar_atr`` …); a backtest result does not. A result exported with
``--export signals`` holds, per strategy and pair, the analysed candle each trade was entered
on (``generate_trade_signal_candles``: the last candle before the entry). A strategy that keeps
those values as columns of the same name (TripleBarrierML does) gives the import the same
context a live trade has.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SignalCandles = Mapping[str, Mapping[str, pd.DataFrame]]  # strategy -> pair -> candles


def load_signal_candles(result: Path) -> SignalCandles | None:
    """The ``signals`` member of a backtest ``.zip`` (None if it was not exported)."""
    if result.suffix != ".zip":
        return None
    member = f"{result.stem}_signals.pkl"
    with zipfile.ZipFile(result) as archive:
        if member not in archive.namelist():
            return None
    from freqtrade.data.btanalysis import load_backtest_analysis_data

    signals = load_backtest_analysis_data(result, "signals")
    return signals if isinstance(signals, Mapping) else None


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _usable(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return not (isinstance(value, str) and not value)


def entry_context(
    candles: pd.DataFrame | None,
    entries: Iterable[datetime],
    timeframe: timedelta,
    keys: Iterable[str],
) -> list[dict[str, Any]]:
    """For each entry time, the ``keys`` columns of its signal candle (the candle that closed
    when the entry order was placed: ``entry - timeframe <= date < entry``); ``{}`` where that
    candle is not among ``candles`` or has no such column."""
    times = list(entries)
    wanted = [k for k in keys if candles is not None and k in candles.columns]
    if candles is None or candles.empty or not wanted or not times:
        return [{} for _ in times]
    frame = candles.assign(date=pd.to_datetime(candles["date"], utc=True)).sort_values("date")
    dates = pd.DatetimeIndex(frame["date"])
    at = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    positions = dates.searchsorted(at, side="left") - 1
    values = frame[wanted].to_dict("records")
    out: list[dict[str, Any]] = []
    for entry, pos in zip(at, positions, strict=True):
        if pos < 0 or dates[pos] < entry - timeframe:
            out.append({})
            continue
        row = values[pos]
        out.append({k: _python(v) for k, v in row.items() if _usable(v)})
    return out
