"""The edge gate inside FreqAI training: a model with a real edge predicts calibrated
probabilities; one without predicts the pair's long-run take-profit rate (and so never enters)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT, BarrierClassifier

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIR = "BTC/USDT"
ROWS = 3000


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path
    cfg["freqai"]["identifier"] = f"tribar-test-edge-gate-{uuid.uuid4().hex[:8]}"
    assert cfg["freqai"]["tribar"]["edge_gate_z"] > 0, "the shipped config gates the model"
    return cfg


def window(start: str, informative: bool, seed: int) -> pd.DataFrame:
    """Hourly rows; the label depends on a slowly moving feature (informative) or on nothing."""
    rng = np.random.default_rng(seed)
    level = np.zeros(ROWS)
    for t in range(1, ROWS):  # AR(1): neighbouring rows look alike, as real features do
        level[t] = 0.97 * level[t - 1] + rng.normal(0, 0.25)
    logit = -1.0 + 3.0 * level if informative else np.full(ROWS, -1.0)
    take_profit = rng.random(ROWS) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=ROWS, freq="1h", tz="UTC"),
            "%-level": level,
            "%-noise_a": rng.normal(size=ROWS),
            "%-noise_b": rng.normal(size=ROWS),
            "&-tb": np.where(take_profit, TAKE_PROFIT, NO_TAKE_PROFIT),
        }
    )


def train(config: dict[str, Any], frame: pd.DataFrame) -> tuple[BarrierClassifier, pd.Series]:
    model = TripleBarrierLGBM(config=config)
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.data_path = Path(config["user_data_dir"]) / uuid.uuid4().hex
    dk.find_features(frame)
    dk.find_labels(frame)
    model.model = model.train(frame, PAIR, dk)
    predictions, _ = model.predict(frame.tail(200).reset_index(drop=True), dk)
    return model.model, predictions[TAKE_PROFIT]


def test_a_model_with_an_edge_predicts_calibrated_probabilities(config: dict[str, Any]) -> None:
    # The shipped rule (consecutive): the pair's first test that passes only starts the evidence,
    # and the long-run rate still serves.
    first, p_first = train(config, window("2025-01-01", informative=True, seed=1))
    gate = first.metrics["edge_gate"]
    assert gate["rule"] == "consecutive" and gate["test_passed"] and not gate["passed"]
    assert first.no_edge_rate is not None and (p_first == first.no_edge_rate).all()
    # 30 days later (calibration blocks disjoint) the second passing test opens the gate.
    model, p = train(config, window("2025-01-31", informative=True, seed=4))
    gate = model.metrics["edge_gate"]
    assert gate["passed"] and gate["z"] >= gate["z_required"]
    assert model.no_edge_rate is None
    assert p.std() > 0.05 and p.between(0, 1).all()


def test_a_model_without_an_edge_predicts_the_long_run_rate(config: dict[str, Any]) -> None:
    first = window("2025-01-01", informative=False, seed=2)
    model, p = train(config, first)
    assert not model.metrics["edge_gate"]["passed"]
    # Every label of the window but its purged tail (the last H rows) is in the rate.
    horizon = config["freqai"]["feature_parameters"]["label_period_candles"]
    expected = (first["&-tb"].iloc[: ROWS - horizon] == TAKE_PROFIT).mean()
    assert model.no_edge_rate == pytest.approx(expected)
    assert (p == model.no_edge_rate).all()
    # The next window (overlapping the first by half) adds its new labels to the pair's
    # history: the rate now covers both windows.
    second = window("2025-03-05", informative=False, seed=3)
    second = second.assign(date=first["date"].iloc[ROWS // 2] + pd.to_timedelta(
        np.arange(ROWS), unit="h"
    ))  # fmt: skip
    model2, p2 = train(config, second)
    labels = model2.metrics["long_run_take_profit_rate"]["labels"]
    assert labels == ROWS // 2 + ROWS - horizon
    assert (p2 == model2.no_edge_rate).all()


def test_without_the_gate_every_model_is_calibrated(config: dict[str, Any]) -> None:
    config["freqai"]["tribar"]["edge_gate_z"] = None
    model, p = train(config, window("2025-01-01", informative=False, seed=2))
    assert "edge_gate" not in model.metrics and model.no_edge_rate is None
    assert p.nunique() > 1  # the booster's own (calibrated) scores, noise as they are


def test_a_bad_gate_setting_is_named(config: dict[str, Any]) -> None:
    config["freqai"]["tribar"]["edge_gate_z"] = "high"
    with pytest.raises(Exception, match=r"freqai\.tribar\.edge_gate_z"):
        train(config, window("2025-01-01", informative=False, seed=2))
