"""SHAP importance and the covering feature set (tribar.ml.shap_importance), without Freqtrade."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.ml.shap_importance import (
    SelectedFeatures,
    covering_set,
    generic_feature_name,
    mean_abs_shap,
    pooled_importance,
    positive_class_shap,
    read_selected_features,
)


def test_the_models_own_pair_becomes_a_placeholder_context_pairs_stay() -> None:
    assert generic_feature_name("%-rsi-period_12_SOL/USDT_1h", "SOL/USDT") == (
        "%-rsi-period_12_{pair}_1h"
    )
    assert generic_feature_name("%-rsi-period_12_BTC/USDT_4h", "SOL/USDT") == (
        "%-rsi-period_12_BTC/USDT_4h"
    )
    assert generic_feature_name("%-day_of_week", "SOL/USDT") == "%-day_of_week"


def test_covering_set_is_the_smallest_prefix_reaching_the_share() -> None:
    importance = pd.Series({"a": 5.0, "b": 3.0, "c": 1.5, "d": 0.5})
    assert covering_set(importance, 0.5) == ["a"]
    assert covering_set(importance, 0.8) == ["a", "b"]  # exactly 80 %
    assert covering_set(importance, 0.81) == ["a", "b", "c"]
    assert covering_set(importance, 1.0) == ["a", "b", "c", "d"]
    assert covering_set(pd.Series({"a": 0.0, "b": 0.0}), 0.8) == []
    with pytest.raises(ValueError, match=r"coverage must be in \(0, 1\]"):
        covering_set(importance, 80)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5), st.one_of(st.just(0.0), st.floats(1e-6, 100)),
        min_size=1, max_size=30,
    ),
    st.floats(0.01, 1.0),
)
def test_covering_set_reaches_the_share_and_no_smaller_set_does(
    values: dict[str, float], coverage: float
) -> None:
    importance = pd.Series(values, dtype=float)
    chosen = covering_set(importance, coverage)
    total = importance.sum()
    if total == 0:
        assert chosen == []
        return
    assert importance[chosen].sum() >= coverage * total - 1e-9 * total
    # The best set one feature smaller (the largest k-1 values) falls short.
    best_smaller = importance.sort_values(ascending=False).iloc[: len(chosen) - 1].sum()
    assert best_smaller < coverage * total + 1e-9 * total


def test_pooled_importance_counts_a_missing_feature_as_zero() -> None:
    pooled = pooled_importance([pd.Series({"a": 2.0, "b": 1.0}), pd.Series({"a": 4.0})])
    assert pooled.to_dict() == {"a": 3.0, "b": 0.5}


def test_shap_values_of_a_real_booster_match_lightgbms_own_tree_shap() -> None:
    import shap

    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(600, 4)), columns=["f0", "f1", "f2", "f3"])
    y = ((x["f0"] + 0.5 * x["f1"] + rng.normal(scale=0.5, size=600)) > 0).astype(int)
    booster = lgb.LGBMClassifier(n_estimators=40, num_leaves=7, verbose=-1).fit(x, y)
    values = positive_class_shap(shap.TreeExplainer(booster).shap_values(x))
    own = booster.predict(x, pred_contrib=True)[:, :-1]  # last column: the expected value
    np.testing.assert_allclose(values, own, atol=1e-6)
    importance = mean_abs_shap(values, list(x.columns)).sort_values(ascending=False)
    assert list(importance.index[:2]) == ["f0", "f1"]  # the two informative features
    assert importance["f0"] > 3 * importance["f3"]


def test_selected_features_round_trip_and_keep_in_model_order(tmp_path: Path) -> None:
    chosen = SelectedFeatures(("%-b_{pair}_1h", "%-a_BTC/USDT_1h"), 0.8, 12, "user_data/models/x")
    path = tmp_path / "selected_features.json"
    path.write_text(chosen.to_json())
    read = read_selected_features(path)
    assert read == chosen
    columns = ["%-a_BTC/USDT_1h", "%-b_SOL/USDT_1h", "%-c_SOL/USDT_1h", "%-b_BTC/USDT_1h"]
    assert read.keep(columns, "SOL/USDT") == ["%-a_BTC/USDT_1h", "%-b_SOL/USDT_1h"]


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", json.dumps({"version": 1, "features": []}),
     json.dumps({"version": 2, "features": ["%-a"]}), json.dumps({"version": 1, "features": [3]})],
)  # fmt: skip
def test_a_bad_selection_file_names_the_file_and_the_expected_format(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "selected_features.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"selected_features\.json.*expected a JSON object"):
        read_selected_features(path)


def _model_with_selection(path: Path) -> object:
    from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM

    model = TripleBarrierLGBM.__new__(TripleBarrierLGBM)
    model.freqai_info = {"tribar": {"selected_features_file": str(path)}}
    return model


def test_training_keeps_the_selected_columns_and_a_bad_file_stops_only_backtests(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from freqtrade.exceptions import OperationalException

    columns = ["%-a_SOL/USDT_1h", "%-b_SOL/USDT_1h", "%-a_BTC/USDT_1h"]
    path = tmp_path / "selected_features.json"
    path.write_text(SelectedFeatures(("%-a_{pair}_1h",), 0.8, 1, "x").to_json())
    dk = SimpleNamespace(training_features_list=list(columns), live=False)
    _model_with_selection(path)._apply_feature_selection("SOL/USDT", dk)  # type: ignore[attr-defined]
    assert dk.training_features_list == ["%-a_SOL/USDT_1h"]

    path.write_text("{broken")
    dk = SimpleNamespace(training_features_list=list(columns), live=False)
    with pytest.raises(OperationalException, match=r"selected_features_file.*selected_features"):
        _model_with_selection(path)._apply_feature_selection("SOL/USDT", dk)  # type: ignore[attr-defined]
    live = SimpleNamespace(training_features_list=list(columns), live=True)
    _model_with_selection(path)._apply_feature_selection("SOL/USDT", live)  # type: ignore[attr-defined]
    assert live.training_features_list == columns  # a running bot trains on every feature
    assert "training on every feature" in caplog.text
