"""Pair-normalised features for the pooled cross-pair model (``TripleBarrierMLPooled``).

One model serves every whitelisted pair, so no feature may carry a pair's price level or its
typical volume: prices enter as returns and ranges in ATR units, volume and volatility as
z-scores against the pair's own recent past, and the pair's place among the others as a
cross-sectional rank at the same timestamp. BTC and ETH add market context.

Everything here is causal: a value at the candle opening at ``t`` uses that candle's close and
earlier candles only (of the pair itself, or of the other pairs at exactly ``t``; never a later
or forward-filled candle of another pair). ``tests/designs/test_pooled_features.py`` checks it by
perturbing future candles.

Column names are the same for every pair (no pair name in them): FreqAI then sees one feature
list for all pairs, so the rows of every pair can be stacked into one training set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# Returns, ranges and z-scores over these many candles (1h: 6 h, 1 d, 3 d, 1 week).
DEFAULT_PERIODS: tuple[int, ...] = (6, 24, 72, 168)
# The window of the volatility regime z-score (ATR relative to its own recent level).
REGIME_WINDOW = 168
PREFIX = "%-"


def ranked_metrics(periods: Sequence[int]) -> tuple[str, ...]:
    """The metrics ranked across pairs at each timestamp: momentum over a short and the longest
    period, volatility, relative volume (with the default periods: 24 h and 1 week)."""
    _check_periods(periods)
    short, long = periods[1], periods[-1]
    return (f"ret_atr_{short}", f"ret_atr_{long}", "natr", f"volume_z_{short}")


def context_metrics(periods: Sequence[int]) -> tuple[str, ...]:
    """The BTC/ETH metrics every pair's rows carry (the market's move, stretch and regime)."""
    _check_periods(periods)
    return (f"ret_atr_{periods[1]}", f"ret_atr_{periods[-1]}", f"close_z_{periods[-2]}", "natr_z")


def _check_periods(periods: Sequence[int]) -> None:
    if len(periods) < 2 or any(int(p) < 2 for p in periods) or list(periods) != sorted(periods):
        raise ValueError(f"periods must be >= 2 increasing candle counts >= 2, got {periods!r}")


def wilder_atr(frame: pd.DataFrame, period: int) -> pd.Series:
    """Wilder's average true range (the first ``period`` rows NaN), as TA-Lib computes it up to
    its seed (an exponential average from the first true range; it converges within a few
    periods). Causal: row ``t`` uses candles ``<= t``."""
    high, low, close = frame["high"], frame["low"], frame["close"]
    previous = close.shift(1)
    true_range = pd.concat(
        [high - low, (high - previous).abs(), (low - previous).abs()], axis=1
    ).max(axis=1, skipna=False)
    true_range.iloc[0] = high.iloc[0] - low.iloc[0] if len(frame) else np.nan
    atr = true_range.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    return atr.where(atr > 0)


def _zscore(values: pd.Series, window: int) -> pd.Series:
    mean = values.rolling(window, min_periods=window).mean()
    std = values.rolling(window, min_periods=window).std()
    return (values - mean) / std.where(std > 0)


def pair_metrics(
    frame: pd.DataFrame, periods: Sequence[int] = DEFAULT_PERIODS, atr_period: int = 14
) -> pd.DataFrame:
    """One pair's own normalised metrics (no prefix), on ``frame``'s index.

    Prices are divided by the ATR (at the current candle) so that a 3-ATR move reads the same on
    BTC and on DOGE, which is what the triple-barrier labels (barriers in ATR units) measure.
    """
    _check_periods(periods)
    close, high, low, open_ = frame["close"], frame["high"], frame["low"], frame["open"]
    atr = wilder_atr(frame, atr_period)
    out: dict[str, pd.Series] = {
        "natr": atr / close,
        "natr_z": _zscore(atr / close, REGIME_WINDOW),
        "body_atr": (close - open_) / atr,
        "upper_wick_atr": (high - pd.concat([open_, close], axis=1).max(axis=1)) / atr,
        "lower_wick_atr": (pd.concat([open_, close], axis=1).min(axis=1) - low) / atr,
    }
    # The log makes the z-score free of the pair's volume level; a zero-volume candle (an
    # exchange halt) carries the pair's previous volume forward (its own past: causal).
    volume = frame["volume"].astype(float)
    log_volume = pd.Series(np.log(volume.where(volume > 0)), index=frame.index).ffill()
    for n in periods:
        highest = high.rolling(n, min_periods=n).max()
        lowest = low.rolling(n, min_periods=n).min()
        width = highest - lowest
        out[f"ret_atr_{n}"] = (close - close.shift(n)) / atr
        out[f"range_atr_{n}"] = width / atr
        out[f"range_position_{n}"] = (close - lowest) / width.where(width > 0)
        out[f"close_z_{n}"] = _zscore(close, n)
        out[f"volume_z_{n}"] = _zscore(log_volume, n)
    result = pd.DataFrame(out, index=frame.index)
    return result.replace([np.inf, -np.inf], np.nan)


def _by_date(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by its UTC ``date`` (one row per candle, the last kept on duplicates)."""
    dates = pd.DatetimeIndex(pd.to_datetime(frame["date"], utc=True))
    indexed = frame.set_axis(dates, axis=0)
    return indexed[~indexed.index.duplicated(keep="last")].sort_index()


def cross_sectional_rank(panel: pd.DataFrame) -> pd.DataFrame:
    """Rank of each column (pair) among the columns with a value in the same row (timestamp),
    scaled to [0, 1]; 0.5 when only one pair has a value, NaN where the pair has none.

    A pair missing a candle at ``t`` is left out of that row, never filled from an earlier one.
    """
    ranks = panel.rank(axis=1, method="average")
    counts = panel.notna().sum(axis=1)
    scaled = ranks.sub(1.0).div((counts - 1).where(counts > 1), axis=0)
    single = (counts == 1).to_numpy()
    scaled.loc[single] = scaled.loc[single].where(panel.loc[single].isna(), 0.5)
    return scaled


def pooled_features(
    frame: pd.DataFrame,
    pair: str,
    sources: Mapping[str, pd.DataFrame],
    context_pairs: Sequence[str] = ("BTC/USDT", "ETH/USDT"),
    periods: Sequence[int] = DEFAULT_PERIODS,
    atr_period: int = 14,
    source_metrics: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """FreqAI feature columns (``%-`` prefixed) for ``pair``'s candles in ``frame``.

    ``sources``: the OHLCV (with ``date``) of every pair in the cross-section (the whitelist)
    and of the context pairs; ``pair``'s own entry, if any, is replaced by ``frame`` so its rank
    and its own features come from the same candles. Sources may hold candles after ``frame``'s
    last one (a backtest's data provider holds all of them): only candles at ``frame``'s own
    timestamps are read. ``source_metrics``: :func:`pair_metrics` of the sources, precomputed
    (the strategy caches them across pairs); computed here when absent.

    Returned on ``frame``'s index, in a fixed column order.
    """
    dates = pd.DatetimeIndex(pd.to_datetime(frame["date"], utc=True))
    own = pair_metrics(frame, periods, atr_period)
    columns: dict[str, pd.Series | np.ndarray] = {
        f"{PREFIX}{name}": own[name].to_numpy() for name in own.columns
    }

    metrics = dict(source_metrics or {})
    for name, source in sources.items():
        if name not in metrics and name != pair:
            metrics[name] = pair_metrics(source, periods, atr_period).set_axis(source.index, axis=0)
    indexed: dict[str, pd.DataFrame] = {}
    for name, values in metrics.items():
        if name == pair:
            continue
        with_date = values.assign(date=sources[name]["date"].to_numpy())
        # Only this frame's timestamps: exact matches, no forward fill from an earlier candle.
        indexed[name] = _by_date(with_date).drop(columns="date").reindex(dates)
    indexed[pair] = own.set_axis(dates, axis=0)

    members = [name for name in sources if name in indexed] or [pair]
    if pair not in members:
        members.append(pair)
    for metric in ranked_metrics(periods):
        panel = pd.DataFrame({name: indexed[name][metric].to_numpy() for name in members},
                             index=dates)  # fmt: skip
        ranks = cross_sectional_rank(panel)
        columns[f"{PREFIX}xs_rank_{metric}"] = ranks[pair].to_numpy()
    short = f"ret_atr_{periods[1]}"
    momentum = pd.DataFrame(
        {name: indexed[name][short].to_numpy() for name in members}, index=dates
    )
    # The pair's move beyond the cross-section's average move (market move removed).
    columns[f"{PREFIX}xs_excess_{short}"] = (momentum[pair] - momentum.mean(axis=1)).to_numpy()

    for context in context_pairs:
        tag = context.split("/")[0].lower()
        source = indexed.get(context)
        for metric in context_metrics(periods):
            values = (source[metric].to_numpy() if source is not None
                      else np.full(len(frame), np.nan))  # fmt: skip
            columns[f"{PREFIX}{tag}_{metric}"] = values
        if source is not None:
            # How much the pair moves with the context pair over the last week of candles.
            own_ret = pd.Series(frame["close"].to_numpy(), index=dates).pct_change()
            context_ret = _context_returns(frame if context == pair else sources[context], dates)
            corr = own_ret.rolling(REGIME_WINDOW, min_periods=REGIME_WINDOW).corr(context_ret)
            columns[f"{PREFIX}{tag}_corr_{REGIME_WINDOW}"] = corr.to_numpy()
        else:
            columns[f"{PREFIX}{tag}_corr_{REGIME_WINDOW}"] = np.full(len(frame), np.nan)
    result = pd.DataFrame(columns, index=frame.index)
    return result.replace([np.inf, -np.inf], np.nan)


def _context_returns(source: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.Series:
    """The context pair's close-to-close return at each of ``dates`` (its own previous candle,
    read from its own history, so a gap in the target pair does not stretch the return)."""
    closes = _by_date(source)["close"]
    returns = closes.pct_change()
    return returns.reindex(dates)
