"""Primary long-only trend signals for meta-labelling (issue 15, design 3).

In meta-labelling (López de Prado, *Advances in Financial ML*, ch. 3.6) a simple primary model
chooses the side and the moment of every bet; a secondary classifier, trained only on those bets,
decides which of them to take and how big. These are the primary models: plain functions of
closed candles, no Freqtrade, so the strategy (``TripleBarrierMLMeta``) and the evaluation's
out-of-sample scoring compute exactly the same mask from the same candles.

Every signal of row ``t`` reads candles ``<= t`` only (the candle that has just closed and older
ones) and is ``False`` wherever its look-back is not yet filled: a warm-up row never counts as a
bet, so NaN comparisons cannot turn into entries or training rows.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

PrimarySignal = Literal["tsmom", "donchian"]
PRIMARY_SIGNALS: tuple[PrimarySignal, ...] = ("tsmom", "donchian")

# Look-backs are in candles of the strategy's timeframe (1h as shipped).
# Time-series momentum looks back 21 days (504 1h candles) by default: crypto returns show
# momentum over one to four weeks (Liu & Tsyvinski 2021, "Risks and Returns of Cryptocurrency"),
# while the classic 12-month look-back of Moskowitz, Ooi & Pedersen (2012) would leave a 90-day
# training window with a handful of independent trend regimes. Three weeks sits in the middle of
# 14-30 days and is long compared with the 24-candle barrier horizon, so the signal does not just
# restate the label's own window. On the bundled data it is on for about half the candles.
DEFAULT_TSMOM_LOOKBACK = 21 * 24
# Donchian: a breakout above the previous 120 candles' high (5 days of 1h candles) opens the
# bet, which stays on until a close below the previous 60 candles' low (half the entry channel,
# the Turtles' 20/10-day ratio). A breakout alone is an event, not a trend state: on the bundled
# 1h data a close above the previous 24 candles' high happens on about 5 % of candles (20-day
# channels: about 1 %), 10 to 120 bets per pair and 90-day window, always below the meta model's
# minimum of 200 training rows (TripleBarrierClassifierBase.min_training_rows), so it would never
# train. Held to the exit channel, the 120/60 rule with the regime is on for about a quarter of
# the candles (80 to 1300 bets per pair and window on the standard pairs in 2025, 12 of 140
# windows under 200). ``donchian_exit_lookback = 0`` keeps the bare event.
DEFAULT_DONCHIAN_LOOKBACK = 120
DEFAULT_DONCHIAN_EXIT_LOOKBACK = 60


def _check_lookback(lookback: int) -> None:
    if isinstance(lookback, bool) or not isinstance(lookback, int | np.integer) or lookback < 1:
        raise ValueError(f"lookback must be an int >= 1, got {lookback!r}")


def momentum_return(close: pd.Series, lookback: int) -> pd.Series:
    """``close[t] / close[t - lookback] - 1``; NaN during the warm-up. Past closes only."""
    _check_lookback(lookback)
    close = close.astype(float)
    return close / close.shift(lookback) - 1.0


def tsmom_signal(close: pd.Series, lookback: int) -> pd.Series:
    """On when the close is above the close ``lookback`` candles earlier (time-series momentum).

    A NaN return (warm-up, a missing close) compares as False, so it is never a bet.
    """
    return (momentum_return(close, lookback) > 0.0).astype(bool)


def donchian_upper(high: pd.Series, lookback: int) -> pd.Series:
    """Highest high of the ``lookback`` candles before ``t`` (``t`` itself excluded).

    ``shift(1)`` before the rolling max: the channel a close breaks out of must be known before
    that candle, otherwise the candle's own high (>= its close) would make a breakout impossible
    and a future candle's high could not be kept out by construction.
    """
    _check_lookback(lookback)
    return high.astype(float).shift(1).rolling(lookback, min_periods=lookback).max()


def donchian_distance(close: pd.Series, high: pd.Series, lookback: int) -> pd.Series:
    """``close[t] / donchian_upper[t] - 1``: > 0 is a breakout. NaN during the warm-up."""
    return close.astype(float) / donchian_upper(high, lookback) - 1.0


def donchian_signal(close: pd.Series, high: pd.Series, lookback: int) -> pd.Series:
    """On when the close breaks above the highest high of the previous ``lookback`` candles."""
    return (donchian_distance(close, high, lookback) > 0.0).astype(bool)


def donchian_lower(low: pd.Series, lookback: int) -> pd.Series:
    """Lowest low of the ``lookback`` candles before ``t`` (``t`` excluded, as the upper one)."""
    _check_lookback(lookback)
    return low.astype(float).shift(1).rolling(lookback, min_periods=lookback).min()


def donchian_position(
    close: pd.Series, high: pd.Series, low: pd.Series, lookback: int, exit_lookback: int
) -> pd.Series:
    """On from a breakout (``donchian_signal``) until a close below the lowest low of the
    previous ``exit_lookback`` candles (a Turtle-style position).

    Causal: the state of ``t`` is set by the latest breakout or breakdown at or before ``t``,
    carried forward; before the first breakout it is off. Both cannot happen on one candle (the
    entry channel's top is at least the previous candle's high, the exit channel's bottom at most
    its low). Once an event has happened, the state no longer depends on where the data starts.
    """
    entry = donchian_signal(close, high, lookback)
    exit_ = close.astype(float) < donchian_lower(low, exit_lookback)
    state = pd.Series(np.nan, index=close.index)
    state[exit_.to_numpy()] = 0.0
    state[entry.to_numpy()] = 1.0
    return state.ffill().fillna(0.0).astype(bool)


def with_regime(signal: pd.Series, regime_ok: pd.Series | None) -> pd.Series:
    """``signal`` only while the regime allows longs; ``None`` means no regime filter.

    The regime must already be the strategy's ``tribar_regime_ok`` (BTC above its daily EMA on
    the last *closed* daily candle); a missing value counts as "not ok", never as a bet.
    """
    on = signal.astype("boolean").fillna(False).astype(bool)
    if regime_ok is None:
        return on
    if not regime_ok.index.equals(signal.index):
        raise ValueError("signal and regime_ok must share an index")
    return on & regime_ok.astype("boolean").fillna(False).astype(bool)


def primary_signal(
    candles: pd.DataFrame,
    kind: PrimarySignal,
    *,
    tsmom_lookback: int,
    donchian_lookback: int,
    regime_ok: pd.Series | None,
    donchian_exit_lookback: int = 0,
) -> pd.Series:
    """The primary model's bets on ``candles`` (``close``, ``high``, ``low``): a boolean Series.

    ``kind`` picks the trend rule (``donchian`` with ``donchian_exit_lookback`` > 0: the held
    position, 0: the breakout candles only); ``regime_ok`` (or ``None``) is combined with it,
    because the strategy never enters against the regime, so a bet it could not take is no bet
    to learn from.
    """
    close = candles["close"]
    if kind == "tsmom":
        raw = tsmom_signal(close, tsmom_lookback)
    elif kind == "donchian":
        if donchian_exit_lookback > 0:
            raw = donchian_position(
                close, candles["high"], candles["low"], donchian_lookback, donchian_exit_lookback
            )
        else:
            raw = donchian_signal(close, candles["high"], donchian_lookback)
    else:
        raise ValueError(f"unknown primary signal {kind!r}; known: {PRIMARY_SIGNALS}")
    return with_regime(raw, regime_ok).rename("primary_on")
