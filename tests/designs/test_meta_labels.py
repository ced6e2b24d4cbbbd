"""TripleBarrierMLMeta: labels only on the primary's bets, entries only on them, and the
evaluation's scoring mask equal to the strategy's own primary."""

from __future__ import annotations

import copy
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files

from tribar.evaluate import evaluation
from tribar.evaluate.variants import VARIANTS, Variant, by_name
from tribar.ml.barrier_classifier import TAKE_PROFIT
from tribar.strategies.TripleBarrierML import LABEL, TripleBarrierML
from tribar.strategies.TripleBarrierMLMeta import KEY_PRIMARY, TripleBarrierMLMeta

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "user_data" / "data" / "binance"
PAIR = "ETH/USDT"
END = pd.Timestamp("2025-07-01", tz="UTC")
N_1H = 2400


@cache
def _candles(pair: str, timeframe: str) -> pd.DataFrame:
    df = pd.read_feather(DATA_DIR / f"{pair.replace('/', '_')}-{timeframe}.feather")
    return df[df["date"] < END].reset_index(drop=True)


def hourly(pair: str = PAIR) -> pd.DataFrame:
    return _candles(pair, "1h").iloc[-N_1H:].reset_index(drop=True).copy()


class _Dataprovider:
    def get_pair_dataframe(self, pair: str, timeframe: str) -> pd.DataFrame:
        return _candles(pair, timeframe).copy()


class _CausalPredictions:
    """Stands in for FreqAI: P(tp) from the past 48 volumes only (not closes: a breakout's close
    always ranks first among recent closes, so every breakout would pass the threshold)."""

    def start(self, dataframe: pd.DataFrame, metadata: dict, strategy: Any) -> pd.DataFrame:
        dataframe[TAKE_PROFIT] = dataframe["volume"].rolling(48).rank(pct=True)
        dataframe["do_predict"] = 1
        return dataframe


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path_factory.mktemp("user_data")
    cfg["freqai"]["identifier"] = f"tribar-test-meta-{uuid.uuid4().hex[:8]}"
    limits = cfg.get("tribar", {}).get("risk_limits_file")
    if limits:
        cfg["tribar"]["risk_limits_file"] = str(REPO_ROOT / limits)
    return cfg


def make(cls: type[TripleBarrierML], config: dict[str, Any], **values: Any) -> TripleBarrierML:
    strategy = cls(config)
    strategy.dp = _Dataprovider()
    strategy.freqai = _CausalPredictions()
    set_params(strategy, **values)
    return strategy


def set_params(strategy: TripleBarrierML, **values: Any) -> None:
    """Parameter values on this instance only: Freqtrade's parameter objects are class
    attributes, so setting ``.value`` on them would leak into every other test."""
    for name, value in values.items():
        parameter = copy.deepcopy(getattr(type(strategy), name))
        parameter.value = value
        setattr(strategy, name, parameter)


@pytest.mark.parametrize("kind", ["tsmom", "donchian"])
def test_labels_are_the_parents_on_the_bets_and_nan_off_them(
    config: dict[str, Any], kind: str
) -> None:
    meta = make(TripleBarrierMLMeta, config, primary_signal=kind)
    parent = make(TripleBarrierML, config)
    frame = hourly()
    labels = meta.set_freqai_targets(frame.copy(), {"pair": PAIR})[LABEL]
    parents = parent.set_freqai_targets(frame.copy(), {"pair": PAIR})[LABEL]
    regime = parent._regime_ok(frame)
    bets = meta._primary(frame)
    # Non-vacuous: both bets and non-bets, and labelled bets of both classes; bets lie in the
    # regime, and the regime alone is not the whole story.
    assert 50 < bets.sum() < len(frame) - 50
    assert not (bets & ~regime).any() and (regime & ~bets).sum() > 50
    assert labels[bets].nunique() == 2
    assert labels[~bets].isna().all()
    pd.testing.assert_series_equal(labels[bets], parents[bets])
    # The parent's own NaN (warm-up, last H candles) stays NaN on bets too.
    assert labels.notna().sum() == (parents.notna() & bets).sum()


def test_use_regime_filter_acts_on_entries_only_never_on_labels(config: dict[str, Any]) -> None:
    """It is an entry-only parameter (hyperopt and the evaluation reuse trained models)."""
    frame = hourly()
    # Breakouts: on this window every ETH momentum bet falls inside BTC's regime anyway.
    on, off = (
        make(TripleBarrierMLMeta, config, primary_signal="donchian", use_regime_filter=v)
        for v in (True, False)
    )
    pd.testing.assert_series_equal(
        on.set_freqai_targets(frame.copy(), {"pair": PAIR})[LABEL],
        off.set_freqai_targets(frame.copy(), {"pair": PAIR})[LABEL],
    )
    entries = {
        v: s.populate_indicators(frame.copy(), {"pair": PAIR})[KEY_PRIMARY]
        for v, s in ((True, on), (False, off))
    }
    assert (entries[False] & ~entries[True]).any() and not (entries[True] & ~entries[False]).any()


def test_the_scoring_hook_uses_the_strategys_regime(config: dict[str, Any]) -> None:
    """The scoring hook rebuilds the regime without a data provider; it must be the one the
    strategy trains on."""
    frame = hourly()
    strategy = make(TripleBarrierMLMeta, config)
    ours = strategy._regime_ok(frame)
    daily = strategy.dp.get_pair_dataframe(pair=strategy.regime_pair, timeframe="1d")
    mask = TripleBarrierMLMeta.scoring_mask(frame, daily, strategy._current_params(), "1h")
    assert ours.any() and not ours.all()
    pd.testing.assert_series_equal(mask, strategy._primary(frame), check_names=False)


@pytest.mark.parametrize("kind", ["tsmom", "donchian"])
def test_entries_are_primary_bets_and_the_primary_alone_takes_all_of_them(
    config: dict[str, Any], kind: str
) -> None:
    frame = hourly()
    runs = {}
    for meta_label in (True, False):
        strategy = make(TripleBarrierMLMeta, config, primary_signal=kind, use_meta_label=meta_label)
        analysed = strategy.populate_indicators(frame.copy(), {"pair": PAIR})
        runs[meta_label] = strategy.populate_entry_trend(analysed, {"pair": PAIR})
    bets = runs[False][KEY_PRIMARY] & (runs[False]["volume"] > 0)
    alone = runs[False]["enter_long"].eq(1)
    meta = runs[True]["enter_long"].eq(1)
    assert bets.sum() > 20
    assert alone.equals(bets)
    assert meta.any() and meta.sum() < alone.sum()
    assert not (meta & ~bets).any()
    # Meta entries are the parent's conditions on the bets.
    m = runs[True]
    parents = (m["do_predict"] == 1) & (m["tribar_p_tp"] >= 0.5) & (m["tribar_edge"] > 0.002)
    assert meta.equals(bets & parents.fillna(False))
    assert set(runs[False].loc[alone, "enter_tag"]) == {"primary_entry"}
    assert set(runs[True].loc[meta, "enter_tag"]) == {"meta_entry"}


def test_scoring_mask_matches_the_strategys_primary(config: dict[str, Any]) -> None:
    """What the evaluation scores (from candle files) is what the strategy trains on and bets."""
    frame = hourly()
    daily = _candles("BTC/USDT", "1d")
    for params in ({}, {"primary_signal": "donchian"}, {"use_regime_filter": False}):
        strategy = make(TripleBarrierMLMeta, config, **params)
        mask = TripleBarrierMLMeta.scoring_mask(frame, daily, params, "1h")
        assert mask.any()
        pd.testing.assert_series_equal(mask, strategy._primary(frame), check_names=False)
        labelled = strategy.set_freqai_targets(frame.copy(), {"pair": PAIR})[LABEL].notna()
        assert not (labelled & ~mask).any() and (labelled & mask).sum() > 0.9 * mask.sum()
        if params.get("use_regime_filter", True):
            analysed = strategy.populate_indicators(frame.copy(), {"pair": PAIR})
            pd.testing.assert_series_equal(
                mask, analysed[KEY_PRIMARY], check_names=False, check_dtype=False
            )


def test_evaluation_scores_only_meta_bets_and_every_candle_otherwise(tmp_path: Path) -> None:
    pairs = ["ETH/USDT", "BTC/USDT"]
    for pair in pairs:
        hourly(pair).to_feather(tmp_path / f"{pair.replace('/', '_')}-1h.feather")
    _candles("BTC/USDT", "1d").to_feather(tmp_path / "BTC_USDT-1d.feather")
    (meta,) = by_name(["meta-tsmom"])
    config = {"stake_currency": "USDT"}
    params = evaluation._strategy_params(meta)
    mask = evaluation.scoring_mask(meta, params, tmp_path, pairs, config, "1h")
    assert mask is not None
    assert set(mask["pair"]) == set(pairs)
    expected = TripleBarrierMLMeta.scoring_mask(hourly(), _candles("BTC/USDT", "1d"), {}, "1h")
    eth = mask.loc[mask["pair"] == "ETH/USDT", "date"]
    assert list(eth) == list(hourly().loc[expected.to_numpy(), "date"])
    # Predictions stored at another date resolution are matched all the same.
    predictions = pd.DataFrame(
        {"pair": "ETH/USDT", "date": hourly()["date"].astype("datetime64[ns, UTC]"), "p_tp": 0.3}
    )
    kept = evaluation._only_masked(predictions, mask)
    assert len(kept) == int(expected.sum()) and 0 < len(kept) < len(predictions)
    # The parent design has no hook: everything is scored, as before.
    (shipped,) = by_name(["edge-gate"])
    assert evaluation.scoring_mask(shipped, {}, tmp_path, pairs, config, "1h") is None


def _variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def test_primary_alone_variants_reuse_the_meta_models() -> None:
    for meta, alone in (("meta-tsmom", "primary-tsmom"), ("meta-donchian", "primary-donchian")):
        assert _variant(meta).model_params() == _variant(alone).model_params()
        assert _variant(alone).params["use_kelly_sizing"] is False
        assert _variant(alone).params["use_meta_label"] is False
    assert _variant("meta-tsmom").model_params() != _variant("meta-donchian").model_params()
    names = [v.name for v in VARIANTS if v.strategy == "TripleBarrierMLMeta" and not v.control]
    assert names == [
        "meta-tsmom", "meta-donchian", "primary-tsmom", "primary-donchian",
        "meta-tsmom-no-gate", "meta-tsmom-baseline-schedule",
    ]  # fmt: skip
    (control,) = [v for v in VARIANTS if v.strategy == "TripleBarrierMLMeta" and v.control]
    assert control.name == "meta-tsmom-placebo"
    assert control.freqai["tribar"]["placebo_shuffle_seed"] == 1


def test_primary_alone_runs_share_the_meta_runs_freqai_identifier(tmp_path: Path) -> None:
    """The evaluation trains once per identifier: primary-* must land on meta-*'s models, and
    the two primaries (different training rows) on different ones."""
    from tribar.evaluate.setup import STANDARD
    from tribar.evaluate.specs import strategy_spec

    ids = {
        name: strategy_spec(STANDARD, _variant(name), tmp_path).identifier
        for name in ("meta-tsmom", "primary-tsmom", "meta-donchian", "primary-donchian")
    }
    assert ids["meta-tsmom"] == ids["primary-tsmom"]
    assert ids["meta-donchian"] == ids["primary-donchian"]
    assert ids["meta-tsmom"] != ids["meta-donchian"]
    edge_gate = strategy_spec(STANDARD, _variant("edge-gate"), tmp_path).identifier
    assert edge_gate not in ids.values()
    spec = strategy_spec(STANDARD, _variant("primary-donchian"), tmp_path)
    assert spec.strategy == "TripleBarrierMLMeta"
    params = (Path(spec.config["strategy_path"]) / "TripleBarrierMLMeta.json").read_text()
    assert '"use_meta_label": false' in params and '"primary_signal": "donchian"' in params
