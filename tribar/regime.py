"""The BTC regime filter: BTC closed above its daily EMA, on the last *closed* daily candle.

One computation for every strategy (``TripleBarrierML._regime_ok`` and its subclasses) and for
the evaluation, which rebuilds a strategy's scoring mask from the candle files without a data
provider (``TripleBarrierMLMeta.scoring_mask``).
"""

from __future__ import annotations

import pandas as pd
import talib.abstract as ta
from freqtrade.strategy import merge_informative_pair

REGIME_TIMEFRAME = "1d"


def regime_from_daily(
    dataframe: pd.DataFrame, daily: pd.DataFrame | None, ema_days: int, timeframe: str
) -> pd.Series:
    """True on ``dataframe``'s rows where the last closed daily candle of ``daily`` closed above
    its ``ema_days`` EMA; False where no daily candle has closed yet (or ``daily`` is empty).

    ``merge_informative_pair`` moves each daily candle to its close, so a row only sees days that
    have ended. The dates are parsed, not trusted: FreqAI's live retraining frame can carry them
    as an object column (see TripleBarrierML.feature_engineering_standard).
    """
    if daily is None or daily.empty:
        return pd.Series(False, index=dataframe.index)
    daily = daily[["date", "close"]].copy()
    daily["date"] = pd.to_datetime(daily["date"], utc=True)
    daily["ema"] = ta.EMA(daily, timeperiod=int(ema_days))
    daily["regime_ok"] = daily["close"] > daily["ema"]
    dates = pd.DataFrame({"date": pd.to_datetime(dataframe["date"], utc=True).to_numpy()})
    merged = merge_informative_pair(
        dates, daily[["date", "regime_ok"]], timeframe, REGIME_TIMEFRAME, ffill=True
    )
    regime = merged["regime_ok_1d"].astype("boolean").fillna(False).astype(bool)
    return pd.Series(regime.to_numpy(), index=dataframe.index)
