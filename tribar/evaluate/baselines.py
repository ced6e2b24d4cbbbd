"""Equal-weight buy-and-hold of the setup's pairs, valued like Freqtrade values its wallet.

The wallet is split equally at the open of the first candle of the range, each slice buys its
pair paying the entry fee, and the holdings are valued at every candle's open (Freqtrade's wallet
snapshots use the same price) and at the last candle's close at the end of the range; the first
point is the cash before buying, so the entry fee is part of the return. No exit
fee: the position is held, not sold. Each pair's holding is one "trade" for the trade figures.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tribar.evaluate.data import pair_file
from tribar.evaluate.setup import RunSetup


def _candles(datadir: Path, pair: str, setup: RunSetup) -> pd.DataFrame:
    frame = pd.read_feather(datadir / pair_file(pair, setup.timeframe))
    dates = frame["date"]
    inside = (dates >= pd.Timestamp(setup.start)) & (dates < pd.Timestamp(setup.end))
    candles = frame.loc[inside].set_index("date").sort_index()
    if candles.empty:
        raise ValueError(f"buy-and-hold: no {pair} {setup.timeframe} candles in {setup.timerange}")
    return candles


def buy_and_hold(setup: RunSetup, datadir: Path) -> tuple[pd.Series, pd.DataFrame]:
    """Mark-to-market equity (start … end) and one trade row per pair."""
    slice_value = setup.wallet / len(setup.pairs)
    holdings: dict[str, pd.Series] = {}
    rows = []
    for pair in setup.pairs:
        candles = _candles(datadir, pair, setup)
        units = slice_value / (1.0 + setup.fee) / float(candles["open"].iloc[0])
        holdings[pair] = units * candles["open"]
        end_value = units * float(candles["close"].iloc[-1])
        rows.append(
            {
                "pair": pair,
                "open_date": pd.Timestamp(setup.start),
                "close_date": pd.Timestamp(setup.end),
                "profit_abs": end_value - slice_value,
                "profit_ratio": end_value / slice_value - 1.0,
                "end_value": end_value,
            }
        )
    trades = pd.DataFrame(rows)
    # A pair without a candle at some hour keeps its last value (none are missing in the data).
    values = pd.DataFrame(holdings).sort_index().ffill().sum(axis=1)
    # At the first open the wallet still holds cash (as Freqtrade's first snapshot does).
    values.iloc[0] = setup.wallet
    equity = pd.concat(
        [values, pd.Series([float(trades["end_value"].sum())], index=[pd.Timestamp(setup.end)])]
    )
    equity.index = pd.DatetimeIndex(equity.index).tz_convert("UTC")
    return equity.astype(float), trades
