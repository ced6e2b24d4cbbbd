"""Features for the model-level study, from one pair's closed base-timeframe candles.

The same indicator families as TripleBarrierML's FreqAI features (RSI, MFI, ADX, NATR, ROC,
distance to EMA, range position, relative volume per period; candle shape; time of day), on the
base timeframe only: the study compares model and barrier designs against each other, and
rebuilding FreqAI's multi-timeframe, multi-pair frame for every trial would cost more than the
trials. A design the study finds is confirmed by a real FreqAI backtest before it ships.

Row ``t`` uses candles up to and including ``t`` (closed), never later ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import talib.abstract as ta

REQUIRED_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def check_candles(candles: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in candles]
    if missing:
        raise ValueError(f"{where}: candles lack columns {missing}; expected {REQUIRED_COLUMNS}")
    if not candles["date"].is_monotonic_increasing:
        raise ValueError(f"{where}: candle dates are not in increasing order")


def barrier_features(candles: pd.DataFrame, periods: Sequence[int]) -> pd.DataFrame:
    """One row per candle, NaN where an indicator is still warming up."""
    check_candles(candles, "barrier_features")
    if not periods or any(int(p) < 2 for p in periods):
        raise ValueError(f"barrier_features: periods must be integers >= 2, got {list(periods)}")
    close, high, low, volume = (candles[c] for c in ("close", "high", "low", "volume"))
    columns: dict[str, pd.Series] = {}
    for period in periods:
        p = int(period)
        columns[f"rsi_{p}"] = ta.RSI(candles, timeperiod=p)
        columns[f"mfi_{p}"] = ta.MFI(candles, timeperiod=p)
        columns[f"adx_{p}"] = ta.ADX(candles, timeperiod=p)
        columns[f"natr_{p}"] = ta.NATR(candles, timeperiod=p)
        columns[f"roc_{p}"] = ta.ROC(candles, timeperiod=p)
        columns[f"close_to_ema_{p}"] = close / ta.EMA(candles, timeperiod=p) - 1
        lowest, highest = low.rolling(p).min(), high.rolling(p).max()
        columns[f"range_position_{p}"] = (close - lowest) / (highest - lowest)
        columns[f"relative_volume_{p}"] = volume / volume.rolling(p).mean()
    columns["pct_change"] = close.pct_change()
    columns["candle_body"] = (close - candles["open"]) / candles["open"]
    columns["upper_wick"] = (high - candles[["open", "close"]].max(axis=1)) / close
    hour = pd.to_datetime(candles["date"], utc=True).dt.hour
    columns["hour_sin"] = np.sin(2 * np.pi * hour / 24)
    columns["hour_cos"] = np.cos(2 * np.pi * hour / 24)
    features = pd.DataFrame(columns, index=candles.index)
    return features.replace([np.inf, -np.inf], np.nan)
