"""Perturbing future candles never changes a past feature, indicator, signal or prediction.

Real candles (bundled BTC/USDT and ETH/USDT, 1h/4h/1d). For a random signal candle ``t``, every
candle of every pair and timeframe that has not closed when ``t`` closes gets random, large
OHLCV values; the strategy's FreqAI features (FreqAI's own feature population: all timeframes,
the correlated pair, informative merges), its own indicators and entry signal, and the FreqAI
model's predictions are recomputed and must be identical, NaN for NaN, on rows ``<= t``.
Controls show the same harness catches a one-candle lookahead and training without the purge.
No Freqtrade backtest runs here.
"""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib.abstract as ta
from freqtrade.configuration.load_config import load_from_files
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.leakage._support import DATA_DIR, LABEL, REPO_ROOT
from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
from tribar.labels import BarrierSpec, triple_barrier_labels
from tribar.leakage import differing_cells
from tribar.ml import freqai_model
from tribar.ml.barrier_classifier import TAKE_PROFIT
from tribar.ml.freqai_model import purge_labels_at_window_end
from tribar.strategies.TripleBarrierML import TripleBarrierML

PAIR = "BTC/USDT"
PAIRS = ("BTC/USDT", "ETH/USDT")
TIMEFRAMES = ("1h", "4h", "1d")
END = pd.Timestamp("2025-07-01", tz="UTC")
N_1H = 2400  # 100 days of 1h candles before END; 4h and 1d go back to the data start
FIRST_T = N_1H - 600  # signal candles are drawn from the last 600, features long warmed up
LAST_T = N_1H - 50  # ...leaving two days of future to perturb
HORIZON = 24  # config.json label_period_candles
TRAIN_ROWS = 1200

Market = dict[tuple[str, str], pd.DataFrame]
EXAMPLES = settings(max_examples=6, deadline=None, derandomize=True, database=None)


@cache
def _candles(pair: str, timeframe: str) -> pd.DataFrame:
    df = pd.read_feather(DATA_DIR / f"{pair.replace('/', '_')}-{timeframe}.feather")
    return df[df["date"] < END].reset_index(drop=True)


def market() -> Market:
    return {
        (pair, tf): (_candles(pair, tf).iloc[-N_1H:] if tf == "1h" else _candles(pair, tf))
        .reset_index(drop=True)
        .copy()
        for pair in PAIRS
        for tf in TIMEFRAMES
    }


def close_time(t: int) -> pd.Timestamp:
    return pd.Timestamp(market_dates()[t]) + pd.Timedelta(hours=1)


@cache
def market_dates() -> tuple[pd.Timestamp, ...]:
    return tuple(_candles(PAIR, "1h").iloc[-N_1H:]["date"])


def perturb_future(data: Market, known_until: pd.Timestamp, seed: int, scale: float) -> Market:
    """Random OHLCV for every candle that closes after ``known_until``, all pairs and timeframes."""
    rng = np.random.default_rng(seed)
    out: Market = {}
    for (pair, tf), df in data.items():
        df = df.copy()
        future = (df["date"] + pd.Timedelta(minutes=timeframe_to_minutes(tf))) > known_until
        n = int(future.sum())
        ref = df.loc[future, "close"].to_numpy()
        o = ref * np.exp(rng.normal(0.0, scale, n))
        c = ref * np.exp(rng.normal(0.0, scale, n))
        df.loc[future, "open"] = o
        df.loc[future, "close"] = c
        df.loc[future, "high"] = np.maximum(o, c) * np.exp(np.abs(rng.normal(0.0, scale / 2, n)))
        df.loc[future, "low"] = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0.0, scale / 2, n)))
        df.loc[future, "volume"] = df.loc[future, "volume"] * np.exp(rng.normal(0.0, 1.0, n))
        out[(pair, tf)] = df
    return out


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path_factory.mktemp("user_data")
    cfg["freqai"]["identifier"] = f"tribar-leaktest-perturb-{uuid.uuid4().hex[:8]}"
    # The booster's probabilities are what could leak; with the edge gate closed (as on most real
    # windows) the model answers a constant, which would make these tests pass vacuously.
    cfg["freqai"]["tribar"]["edge_gate_z"] = None
    limits = cfg.get("tribar", {}).get("risk_limits_file")
    if limits:
        cfg["tribar"]["risk_limits_file"] = str(REPO_ROOT / limits)
    return cfg


def freqai_frame(strategy: TripleBarrierML, config: dict[str, Any], data: Market) -> pd.DataFrame:
    """FreqAI's feature population for PAIR (as in live mode, which also adds the label)."""
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    return dk.use_strategy_to_populate_indicators(
        strategy,
        corr_dataframes={p: {tf: data[(p, tf)] for tf in TIMEFRAMES} for p in PAIRS if p != PAIR},
        base_dataframes={tf: data[(PAIR, tf)] for tf in TIMEFRAMES},
        pair=PAIR,
    )


@pytest.fixture(scope="module")
def strategy(config: dict[str, Any]) -> TripleBarrierML:
    return TripleBarrierML(config)


@pytest.fixture(scope="module")
def baseline(strategy: TripleBarrierML, config: dict[str, Any]) -> pd.DataFrame:
    return freqai_frame(strategy, config, market())


def features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("%")]


def assert_same_through(before: pd.DataFrame, after: pd.DataFrame, t: int) -> None:
    cells = differing_cells(before.iloc[: t + 1], after.iloc[: t + 1])
    assert cells.empty, f"rows <= t={t} changed:\n{cells.head(20).to_string()}"


# --- features --------------------------------------------------------------------------------


@EXAMPLES
@given(
    t=st.integers(FIRST_T, LAST_T),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.05, 0.8),
)
def test_future_candles_never_change_past_features(
    strategy: TripleBarrierML, config: dict[str, Any], baseline: pd.DataFrame,
    t: int, seed: int, scale: float,
) -> None:  # fmt: skip
    perturbed = freqai_frame(strategy, config, perturb_future(market(), close_time(t), seed, scale))
    cols = ["date", "open", "high", "low", "close", "volume", *features(baseline)]
    assert len(cols) > 100
    assert_same_through(baseline[cols], perturbed[cols], t)
    # The perturbation is real: almost every feature moves after t (the hour/day-of-week
    # features cannot).
    changed = differing_cells(baseline[cols].iloc[t + 1 :], perturbed[cols].iloc[t + 1 :])
    assert changed["column"].nunique() >= 0.9 * len(features(baseline))
    # Labels look H candles ahead: rows up to t - H use only candles <= t.
    assert_same_through(baseline[["date", LABEL]], perturbed[["date", LABEL]], t - HORIZON)


class _OneCandleLookahead(TripleBarrierML):
    def feature_engineering_standard(
        self, dataframe: pd.DataFrame, metadata: dict, **kwargs: Any
    ) -> pd.DataFrame:
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        dataframe["%-next_close"] = dataframe["close"].shift(-1)
        return dataframe


def test_control_one_candle_lookahead_is_caught(config: dict[str, Any]) -> None:
    leaky = _OneCandleLookahead(config)
    t = LAST_T
    before = freqai_frame(leaky, config, market())
    after = freqai_frame(leaky, config, perturb_future(market(), close_time(t), 1, 0.3))
    cols = ["date", *features(before)]
    cells = differing_cells(before[cols].iloc[: t + 1], after[cols].iloc[: t + 1])
    assert set(cells["column"]) == {"%-next_close"}
    assert list(cells["date"]) == [market_dates()[t]]


# --- the strategy's own indicators and entry signal ----------------------------------------


class _Dataprovider:
    def __init__(self, data: Market) -> None:
        self.data = data

    def get_pair_dataframe(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self.data[(pair, timeframe)].copy()


class _CausalPredictions:
    """Stands in for FreqAI (checked separately): P(tp) from the past 48 closes only."""

    def start(self, dataframe: pd.DataFrame, metadata: dict, strategy: Any) -> pd.DataFrame:
        dataframe[TAKE_PROFIT] = dataframe["close"].rolling(48).rank(pct=True)
        dataframe["do_predict"] = 1
        return dataframe


def analysed(strategy: TripleBarrierML, data: Market) -> pd.DataFrame:
    strategy.dp = _Dataprovider(data)
    strategy.freqai = _CausalPredictions()
    df = strategy.populate_indicators(data[(PAIR, "1h")].copy(), {"pair": PAIR})
    return strategy.populate_entry_trend(df, {"pair": PAIR})


@EXAMPLES
@given(t=st.integers(FIRST_T, LAST_T), seed=st.integers(0, 2**32 - 1))
def test_future_candles_never_change_past_indicators_or_entries(
    config: dict[str, Any], t: int, seed: int
) -> None:
    strategy = TripleBarrierML(config)
    before = analysed(strategy, market())
    after = analysed(strategy, perturb_future(market(), close_time(t), seed, 0.4))
    for column in ("tribar_atr", "tribar_edge", "tribar_regime_ok", "enter_long"):
        assert column in before.columns
    assert before["enter_long"].eq(1).any(), "no entries: the check would be vacuous"
    assert_same_through(before, after, t)
    assert not differing_cells(before.iloc[t + 1 :], after.iloc[t + 1 :]).empty


# --- predictions -----------------------------------------------------------------------------


def train_and_predict(
    config: dict[str, Any], frame: pd.DataFrame, train_end: int, t: int, tmp: Path
) -> tuple[pd.DataFrame, np.ndarray]:
    """TripleBarrierLGBM trained the FreqAI way on rows [train_end - TRAIN_ROWS, train_end),
    then FreqAI's predict on rows [train_end, t]. Labels come from the whole frame, the worst
    case: the raw labels of the window's last H rows read candles after t."""
    model = TripleBarrierLGBM(config=config)
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.data_path = tmp / uuid.uuid4().hex
    train = frame.iloc[train_end - TRAIN_ROWS : train_end].reset_index(drop=True)
    dk.find_features(train)
    dk.find_labels(train)
    model.model = model.train(train, PAIR, dk)
    assert model.model.booster is not None, model.model.metrics
    predictions, do_predict = model.predict(
        frame.iloc[train_end : t + 1].reset_index(drop=True), dk
    )
    return predictions, np.asarray(do_predict)


@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(
    t=st.integers(FIRST_T, LAST_T),
    gap=st.integers(0, HORIZON - 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_future_candles_never_change_past_predictions(
    strategy: TripleBarrierML, config: dict[str, Any], baseline: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory, t: int, gap: int, seed: int,
) -> None:  # fmt: skip
    tmp = tmp_path_factory.mktemp("pred")
    perturbed = freqai_frame(strategy, config, perturb_future(market(), close_time(t), seed, 0.4))
    train_end = t - gap
    p0, d0 = train_and_predict(config, baseline, train_end, t, tmp)
    p1, d1 = train_and_predict(config, perturbed, train_end, t, tmp)
    assert len(p0) == gap + 1 and TAKE_PROFIT in p0.columns
    pd.testing.assert_frame_equal(p0, p1, check_exact=True)
    np.testing.assert_array_equal(d0, d1)


def test_control_training_without_the_purge_leaks_into_predictions(
    strategy: TripleBarrierML, config: dict[str, Any], baseline: pd.DataFrame,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    t, gap = LAST_T, 0
    perturbed = freqai_frame(strategy, config, perturb_future(market(), close_time(t), 7, 0.4))
    # The raw labels of the window's last rows read the perturbed candles...
    window = slice(t - gap - HORIZON, t - gap)
    assert not baseline[LABEL].iloc[window].equals(perturbed[LABEL].iloc[window])
    # ...so training on them without the purge changes the predictions.
    monkeypatch.setattr(freqai_model, "purge_labels_at_window_end", lambda df, labels, h: df)
    p0, _ = train_and_predict(config, baseline, t - gap, t, tmp_path)
    p1, _ = train_and_predict(config, perturbed, t - gap, t, tmp_path)
    assert not p0[TAKE_PROFIT].equals(p1[TAKE_PROFIT])


# --- labels ----------------------------------------------------------------------------------


@cache
def _btc_1h() -> pd.DataFrame:
    return _candles(PAIR, "1h").iloc[-N_1H:].reset_index(drop=True)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    end=st.integers(200, N_1H - 1),
    horizon=st.integers(1, 72),
    k_tp=st.floats(0.5, 6.0),
    k_sl=st.floats(0.5, 4.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_labels_on_a_window_never_use_candles_past_its_end(
    end: int, horizon: int, k_tp: float, k_sl: float, seed: int
) -> None:
    spec = BarrierSpec(k_tp=k_tp, k_sl=k_sl, horizon=horizon)
    df = _btc_1h()
    atr = ta.ATR(df, timeperiod=14)
    window = triple_barrier_labels(df.iloc[:end], atr.iloc[:end], spec)
    # The last H rows of the window have no label, whatever the prices.
    assert window.iloc[-horizon:].isna().all().all()
    labelled = end - horizon
    assert window["outcome"].iloc[:labelled].notna().sum() >= labelled - 20  # ATR warm-up only
    # Rows with a label agree with labels computed on all data, and with labels on data whose
    # candles from `end` on are random: candles past the window's end are never read.
    rng = np.random.default_rng(seed)
    noisy = df.copy()
    noisy.loc[end:, ["open", "high", "low", "close"]] *= rng.uniform(0.3, 3.0, (len(df) - end, 1))
    for other in (df, noisy):
        full = triple_barrier_labels(other, ta.ATR(other, timeperiod=14), spec)
        pd.testing.assert_frame_equal(window.iloc[:labelled], full.iloc[:labelled])


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    n=st.integers(0, 80),
    horizon=st.integers(0, 100),
    which=st.sampled_from([[LABEL], ["&-a", "&-b"], []]),
    seed=st.integers(0, 2**32 - 1),
)
def test_purge_labels_at_window_end_blanks_exactly_the_last_h_labels(
    n: int, horizon: int, which: list[str], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC"),
            "%-feature": rng.normal(size=n),
            LABEL: rng.choice(["tp", "no_tp"], n).astype(object),
            "&-a": rng.normal(size=n),
            "&-b": rng.integers(0, 2, n).astype(float),
        },
        index=pd.RangeIndex(100, 100 + n),  # FreqAI windows keep their frame's index
    )
    original = df.copy()
    purged = purge_labels_at_window_end(df, which, horizon)
    pd.testing.assert_frame_equal(df, original)  # input untouched
    assert list(purged.columns) == list(df.columns) and purged.index.equals(df.index)
    blanked = min(horizon, n) if which else 0
    for column in df.columns:
        if column in which:
            assert purged[column].iloc[n - blanked :].isna().all()
            pd.testing.assert_series_equal(
                purged[column].iloc[: n - blanked], df[column].iloc[: n - blanked],
                check_dtype=False,
            )  # fmt: skip
        else:
            pd.testing.assert_series_equal(purged[column], df[column])
    assert int(purged[which].isna().any(axis=1).sum()) == blanked


def test_purge_uses_the_configured_horizon_in_training(
    config: dict[str, Any], baseline: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TripleBarrierClassifierBase.train purges with label_period_candles, on the label columns
    FreqAI found."""
    calls: list[tuple[list[str], int, int]] = []
    real = freqai_model.purge_labels_at_window_end

    def spy(df: pd.DataFrame, labels: list[str], h: int) -> pd.DataFrame:
        calls.append((list(labels), h, len(df)))
        return real(df, labels, h)

    monkeypatch.setattr(freqai_model, "purge_labels_at_window_end", spy)
    train_and_predict(config, baseline, LAST_T, LAST_T, tmp_path)
    assert config["freqai"]["feature_parameters"]["label_period_candles"] == HORIZON
    assert calls == [([LABEL], HORIZON, TRAIN_ROWS)]
