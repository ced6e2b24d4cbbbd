"""The data directory a run reads: the setup's candles, with missing higher timeframes derived.

The bundled data set (docs/data.md) lacks ``NEAR/USDT`` 4h. FreqAI then drops every NEAR training
row (all 4h features NaN) and Freqtrade's fallback for the failed training crashes for
classifiers, so the whole backtest dies. Binance's 4h and 1d candles are exact aggregates of its
1h candles (checked on every pair of the data set: identical OHLC, volume equal to float
rounding; see ``tests/evaluate/test_data.py``), so a missing file is derived from the 1h file.
Everything present is used as is, through symlinks: the source stays read-only and nothing is
copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tribar.evaluate.setup import RunSetup

BASE_TIMEFRAME = "1h"
DERIVABLE = {"4h": ("4h", 4), "1d": ("1D", 24)}  # timeframe: (pandas rule, 1h candles per candle)
OHLCV_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@dataclass(frozen=True)
class PreparedData:
    datadir: Path
    derived: tuple[str, ...]  # file names derived from 1h candles


def pair_file(pair: str, timeframe: str) -> str:
    return f"{pair.replace('/', '_')}-{timeframe}.feather"


def aggregate_candles(hourly: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """``timeframe`` candles from 1h candles, UTC-aligned; incomplete candles are dropped."""
    rule, per_candle = DERIVABLE[timeframe]
    indexed = hourly.set_index("date")
    grouped = indexed.resample(rule, label="left", closed="left")
    candles = grouped.agg(OHLCV_AGG)
    complete = grouped["close"].count() == per_candle
    return candles[complete].reset_index()


def prepare_datadir(
    source: Path, target: Path, pairs: Iterable[str], timeframes: Iterable[str]
) -> PreparedData:
    """Fill ``target`` with symlinks to ``source``'s files and derive the missing ones."""
    target.mkdir(parents=True, exist_ok=True)
    derived: list[str] = []
    for pair in pairs:
        for timeframe in timeframes:
            name = pair_file(pair, timeframe)
            link = target / name
            if link.is_symlink() or link.exists():
                link.unlink()
            if (source / name).is_file():
                link.symlink_to((source / name).resolve())
                continue
            hourly_file = source / pair_file(pair, BASE_TIMEFRAME)
            if timeframe not in DERIVABLE or not hourly_file.is_file():
                continue  # Freqtrade reports the missing data itself
            aggregate_candles(pd.read_feather(hourly_file), timeframe).to_feather(link)
            derived.append(name)
    return PreparedData(target, tuple(derived))


def prepare_for_setup(setup: RunSetup, work_dir: Path) -> PreparedData:
    return prepare_datadir(
        setup.datadir, work_dir / "data" / "binance", setup.pairs, (BASE_TIMEFRAME, *DERIVABLE)
    )
