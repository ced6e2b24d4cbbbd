"""The gate-off probability a backtest writes next to the gated one: the same booster and
calibrator, whatever the edge gate decided, so TripleBarrierMLGateOff trades exactly what
``edge_gate_z: null`` would have traded, without a second training."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT, TAKE_PROFIT_GATE_OFF
from tribar.ml.freqai_model import TRAINING_FINISHED, TrainingFinished

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIR = "ETH/USDT"
ROWS = 3000


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path
    cfg["freqai"]["identifier"] = f"tribar-test-gate-off-{uuid.uuid4().hex[:8]}"
    return cfg


def noise_window(seed: int) -> pd.DataFrame:
    """Hourly rows whose label does not depend on the features: the gate must stay closed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=ROWS, freq="1h", tz="UTC"),
            "%-a": rng.normal(size=ROWS),
            "%-b": rng.normal(size=ROWS),
            "%-c": np.cumsum(rng.normal(size=ROWS)),
            "&-tb": np.where(rng.random(ROWS) < 0.27, TAKE_PROFIT, NO_TAKE_PROFIT),
        }
    )


def trained(config: dict[str, Any], frame: pd.DataFrame, *, live: bool) -> Any:
    model = TripleBarrierLGBM(config=config)
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.live = live  # backtests predict with a non-live kitchen
    dk.data_path = Path(config["user_data_dir"]) / uuid.uuid4().hex
    dk.find_features(frame)
    dk.find_labels(frame)
    model.model = model.train(frame, PAIR, dk)
    return model, dk


def test_a_gated_out_model_still_writes_its_calibrated_probability_in_backtests(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    frame = noise_window(seed=5)
    with caplog.at_level(logging.INFO, logger="tribar.ml.freqai_model"):
        model, dk = trained(config, frame, live=False)
    assert not model.model.metrics["edge_gate"]["passed"]
    predictions, do_predict = model.predict(frame.tail(300).reset_index(drop=True), dk)

    # The gated column is the long-run rate; the gate-off column is the booster through its
    # Platt calibrator, computed independently here from the transformed features.
    assert (predictions[TAKE_PROFIT] == model.model.no_edge_rate).all()
    transformed = dk.data_dictionary["prediction_features"]
    booster = model.model.booster
    raw = booster.predict_proba(transformed.to_numpy())[:, list(booster.classes_).index(1)]
    expected = model.model.calibrator.predict(raw)
    np.testing.assert_allclose(predictions[TAKE_PROFIT_GATE_OFF].to_numpy(), expected)
    assert predictions[TAKE_PROFIT_GATE_OFF].nunique() > 1
    assert ((predictions[TAKE_PROFIT_GATE_OFF] > 0) & (predictions[TAKE_PROFIT_GATE_OFF] < 1)).all()
    assert (do_predict == 1).all()

    # One "training finished" record per training carries the gate's decision.
    [finished] = [
        getattr(r, TRAINING_FINISHED) for r in caplog.records if hasattr(r, TRAINING_FINISHED)
    ]
    assert finished == TrainingFinished(pair=PAIR, trained=True, edge_gate_passed=False)


def test_live_predictions_keep_freqais_standard_columns(config: dict[str, Any]) -> None:
    frame = noise_window(seed=6)
    model, dk = trained(config, frame, live=True)
    predictions, _ = model.predict(frame.tail(50).reset_index(drop=True), dk)
    assert TAKE_PROFIT_GATE_OFF not in predictions
    assert {TAKE_PROFIT, NO_TAKE_PROFIT} <= set(predictions.columns)


def test_rows_with_a_missing_feature_get_no_gate_off_probability(config: dict[str, Any]) -> None:
    frame = noise_window(seed=7)
    model, dk = trained(config, frame, live=False)
    tail = frame.tail(20).reset_index(drop=True)
    tail.loc[3, "%-b"] = np.nan
    predictions, do_predict = model.predict(tail, dk)
    assert np.isnan(predictions.loc[3, TAKE_PROFIT_GATE_OFF]) and do_predict[3] == 0
    assert predictions[TAKE_PROFIT_GATE_OFF].drop(index=3).notna().all()
