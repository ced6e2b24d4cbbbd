"""The pooled model's features (tribar.designs.pooled_features): pair-normalised, causal, and
cross-sectional ranks read from the other pairs' candles at the same timestamp only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tribar.designs.pooled_features import (
    context_metrics,
    cross_sectional_rank,
    pair_metrics,
    pooled_features,
    ranked_metrics,
)

PERIODS = (3, 6, 12)
ATR_PERIOD = 4


def candles(n: int, seed: int, start: str = "2025-01-01", scale: float = 100.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = scale * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return pd.DataFrame({
        "date": pd.date_range(start, periods=n, freq="1h", tz="UTC"),
        "open": open_, "high": high, "low": low, "close": close,
        "volume": rng.uniform(10, 1000, n),
    })  # fmt: skip


def features_of(frames: dict[str, pd.DataFrame], pair: str) -> pd.DataFrame:
    sources = {name: frame for name, frame in frames.items() if name != pair}
    return pooled_features(
        frames[pair], pair, sources, context_pairs=("BTC/USDT", "ETH/USDT"), periods=PERIODS,
        atr_period=ATR_PERIOD,
    )  # fmt: skip


def test_own_metrics_do_not_depend_on_the_price_or_volume_level() -> None:
    """One model serves every pair: BTC at 100 000 and DOGE at 0.1 must read alike."""
    frame = candles(80, seed=1)
    scaled = frame.assign(**{c: frame[c] * 1234.5 for c in ("open", "high", "low", "close")})
    scaled["volume"] = frame["volume"] * 77.0
    a, b = pair_metrics(frame, PERIODS, ATR_PERIOD), pair_metrics(scaled, PERIODS, ATR_PERIOD)
    pd.testing.assert_frame_equal(a, b, rtol=1e-7, atol=1e-9)


def test_feature_names_are_the_same_for_every_pair() -> None:
    frames = {p: candles(60, seed=i) for i, p in enumerate(["BTC/USDT", "ETH/USDT", "SOL/USDT"])}
    names = {p: list(features_of(frames, p).columns) for p in frames}
    assert names["BTC/USDT"] == names["ETH/USDT"] == names["SOL/USDT"]
    assert all(n.startswith("%-") and "/" not in n for n in names["SOL/USDT"])


def test_cross_sectional_rank_of_one_row() -> None:
    panel = pd.DataFrame({"a": [1.0, 5.0, np.nan], "b": [3.0, np.nan, np.nan],
                          "c": [2.0, 7.0, 4.0]})  # fmt: skip
    ranks = cross_sectional_rank(panel)
    assert ranks.iloc[0].tolist() == [0.0, 1.0, 0.5]
    assert ranks.iloc[1, 0] == 0.0 and np.isnan(ranks.iloc[1, 1]) and ranks.iloc[1, 2] == 1.0
    # A lone pair sits in the middle, the missing ones stay missing.
    assert np.isnan(ranks.iloc[2, 0]) and ranks.iloc[2, 2] == 0.5


def test_ranks_are_the_same_timestamp_ranks_of_each_pairs_own_metrics() -> None:
    """The rank at t is computed from every pair's metric at exactly t: recomputing it by hand
    from each pair's own metrics, row by row, gives the same numbers."""
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
    frames = {p: candles(90, seed=10 + i) for i, p in enumerate(pairs)}
    # XRP lacks some candles and has extra ones after the others end (a backtest's provider).
    frames["XRP/USDT"] = pd.concat(
        [frames["XRP/USDT"].drop(index=range(30, 40)), candles(10, 99, start="2025-01-04 18:00")]
    ).reset_index(drop=True)
    target = "SOL/USDT"
    got = features_of(frames, target)
    own = {p: pair_metrics(f, PERIODS, ATR_PERIOD).set_index(f["date"]) for p, f in frames.items()}
    dates = frames[target]["date"]
    for row, when in enumerate(dates):
        for metric in ranked_metrics(PERIODS):
            if metric not in own[target].columns:
                continue
            values = {p: own[p][metric].get(when, np.nan) for p in pairs}
            mine = values[target]
            others = [v for p, v in values.items() if p != target and not np.isnan(v)]
            column = got[f"%-xs_rank_{metric}"].iloc[row]
            if np.isnan(mine):
                assert np.isnan(column)
            elif not others:
                assert column == 0.5
            else:
                below = sum(v < mine for v in others) + 0.5 * sum(v == mine for v in others)
                assert column == pytest.approx(below / len(others))
    # Where XRP has no candle, the cross-section is the other three (never XRP's last value).
    gap = dates.iloc[35]
    assert np.isnan(own["XRP/USDT"]["natr"].get(gap, np.nan))


def test_context_features_are_the_context_pairs_own_metrics() -> None:
    frames = {p: candles(60, seed=i) for i, p in enumerate(["BTC/USDT", "ETH/USDT", "SOL/USDT"])}
    got = features_of(frames, "SOL/USDT")
    btc = pair_metrics(frames["BTC/USDT"], PERIODS, ATR_PERIOD)
    for metric in context_metrics(PERIODS):
        if metric in btc.columns:
            np.testing.assert_allclose(got[f"%-btc_{metric}"], btc[metric], equal_nan=True)


PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=30, max_value=70),
    cut_fraction=st.floats(min_value=0.2, max_value=0.9),
    seed=st.integers(min_value=0, max_value=10_000),
    target=st.sampled_from(PAIRS),
    factor=st.floats(min_value=0.5, max_value=2.0).filter(lambda f: abs(f - 1.0) > 0.01),
)
def test_perturbing_future_candles_never_changes_past_features(
    n: int, cut_fraction: float, seed: int, target: str, factor: float
) -> None:
    """No lookahead: candles after t (of any pair, the target's own and the others') may
    change arbitrarily without changing any feature at t or before."""
    frames = {p: candles(n, seed=seed + i) for i, p in enumerate(PAIRS)}
    cut = int(n * cut_fraction)
    rng = np.random.default_rng(seed)
    perturbed = {}
    for p, frame in frames.items():
        changed = frame.copy()
        later = changed.index > cut
        noise = rng.uniform(0.5, 2.0, later.sum())
        for column in ("open", "high", "low", "close"):
            changed.loc[later, column] = changed.loc[later, column] * factor * noise
        changed.loc[later, "high"] = changed.loc[later, ["open", "high", "close"]].max(axis=1)
        changed.loc[later, "low"] = changed.loc[later, ["open", "low", "close"]].min(axis=1)
        changed.loc[later, "volume"] = changed.loc[later, "volume"] * factor * 3
        perturbed[p] = changed
    before = features_of(frames, target).iloc[: cut + 1]
    after = features_of(perturbed, target).iloc[: cut + 1]
    pd.testing.assert_frame_equal(before, after, rtol=1e-12, atol=1e-12)
