"""``freqai.continual_learning``: TripleBarrierLGBM continues boosting from the pair's previous
booster (real FreqAI data kitchen and drawer, real LightGBM), refits calibrator and edge gate,
and trains from scratch when the feature columns changed."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.lifecycle.conftest import Trained, new_freqai, train, window


@pytest.fixture
def continual_config(config: dict[str, Any]) -> dict[str, Any]:
    # The challenger gate could serve the incumbent instead of the new model; off here, so
    # every training returns the model it just fitted.
    config["freqai"]["tribar"]["challenger"] = {"enabled": False}
    config["freqai"]["continual_learning"] = True
    return config


def trees(trained: Trained) -> int:
    return int(trained.model.booster.booster_.num_trees())


def test_second_training_continues_from_the_first_booster(
    continual_config: dict[str, Any], series: pd.DataFrame
) -> None:
    freqai = new_freqai(continual_config)
    first = train(continual_config, window(series, 0), freqai)
    second = train(continual_config, window(series, 1), freqai)

    assert first.model.metrics["warm_start_trees"] == 0
    assert second.model.metrics["warm_start_trees"] == trees(first)
    assert trees(second) > trees(first)
    # The first booster's trees are the start of the second: on the second window's rows, the
    # second booster cut at the first's tree count scores exactly as the first booster.
    rows = second.dk.data_dictionary["train_features"].to_numpy()
    cut = second.model.booster.booster_.predict(rows, raw_score=True, num_iteration=trees(first))
    np.testing.assert_allclose(cut, first.model.booster.booster_.predict(rows, raw_score=True))
    # The calibrator is the second window's own: fitted on its calibration block's raw scores.
    assert second.model.calibrator is not first.model.calibrator
    cal = second.model.metrics["calibration_raw"]
    assert cal["n"] > 0 and second.model.metrics["edge_gate"]["auc"] == pytest.approx(cal["auc"])


def test_off_by_default_trains_from_scratch(config: dict[str, Any], series: pd.DataFrame) -> None:
    config["freqai"]["tribar"]["challenger"] = {"enabled": False}
    assert "continual_learning" not in config["freqai"]
    freqai = new_freqai(config)
    train(config, window(series, 0), freqai)
    second = train(config, window(series, 1), freqai)
    assert second.model.metrics["warm_start_trees"] == 0
    assert trees(second) == second.model.metrics["best_iteration"]


def test_changed_feature_columns_train_from_scratch(
    continual_config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    freqai = new_freqai(continual_config)
    train(continual_config, window(series, 0), freqai)
    wider = window(series, 1)
    wider["%-noise_c"] = np.random.default_rng(3).normal(size=len(wider))
    with caplog.at_level(logging.WARNING, logger="tribar.ml.freqai_model"):
        second = train(continual_config, wider, freqai)
    assert second.model.metrics["warm_start_trees"] == 0
    assert trees(second) == second.model.metrics["best_iteration"]
    assert any(
        "continual_learning" in r.getMessage() and "training from scratch" in r.getMessage()
        for r in caplog.records
    )
