"""In-process FreqAI trainings of TripleBarrierLGBM (real LightGBM, real FreqAI data kitchen and
drawer) on an hourly series where one feature carries the take-profit odds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT
from tribar.ml.registry import REGISTRY_DIR, ModelRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIR = "BTC/USDT"
WINDOW = 2000  # rows per training window
STEP = 700  # rows between two trainings' ends (the holdout of the next lies after the last)
TOTAL = WINDOW + 3 * STEP


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path
    cfg["freqai"]["identifier"] = f"tribar-test-lifecycle-{uuid.uuid4().hex[:8]}"
    cfg["freqai"]["tribar"]["challenger"] = {"enabled": True, "min_auc": 0.55, "tolerance": 0.02}
    cfg["freqai"]["tribar"]["selected_features_file"] = None
    # These tests judge the registry and the challenger, which need a first model that serves its
    # own odds; the shipped 'consecutive' rule keeps a pair's first training flat by design.
    cfg["freqai"]["tribar"]["edge_gate_rule"] = "single"
    return cfg


@pytest.fixture(scope="session")
def series() -> pd.DataFrame:
    """Hourly rows; the label's odds follow a slowly moving feature (AR(1), as real features)."""
    rng = np.random.default_rng(7)
    level = np.zeros(TOTAL)
    for t in range(1, TOTAL):
        level[t] = 0.97 * level[t - 1] + rng.normal(0, 0.25)
    take_profit = rng.random(TOTAL) < 1 / (1 + np.exp(-(-1.0 + 3.0 * level)))
    return pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=TOTAL, freq="1h", tz="UTC"),
            "%-level": level,
            "%-noise_a": rng.normal(size=TOTAL),
            "%-noise_b": rng.normal(size=TOTAL),
            "&-tb": np.where(take_profit, TAKE_PROFIT, NO_TAKE_PROFIT),
        }
    )


def window(series: pd.DataFrame, k: int, shuffle_training_labels: bool = False) -> pd.DataFrame:
    """Training window ``k`` (0, 1, ...). Shuffled: the rows the booster trains on (its train
    block, the first 56 %; validation and the holdout keep their true labels) get permuted
    labels."""
    frame = series.iloc[k * STEP : k * STEP + WINDOW].reset_index(drop=True).copy()
    if shuffle_training_labels:
        head = int(WINDOW * 0.56)
        rng = np.random.default_rng(100 + k)
        frame.loc[: head - 1, "&-tb"] = rng.permutation(frame["&-tb"].iloc[:head].to_numpy())
    return frame


@dataclass
class Trained:
    freqai: TripleBarrierLGBM
    dk: FreqaiDataKitchen
    model: Any  # what train() returned: the model FreqAI serves


def new_freqai(config: dict[str, Any]) -> TripleBarrierLGBM:
    return TripleBarrierLGBM(config=config)


def train(
    config: dict[str, Any], frame: pd.DataFrame, freqai: TripleBarrierLGBM | None = None
) -> Trained:
    """What FreqAI does for one training: paths, features, train(), save_data."""
    freqai = freqai or new_freqai(config)
    freqai.dd.set_pair_dict_info({"pair": PAIR})
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    stamp = int(frame["date"].iloc[-1].timestamp())
    dk.set_paths(PAIR, stamp)
    dk.set_new_model_names(PAIR, stamp)
    dk.find_features(frame)
    dk.find_labels(frame)
    model = freqai.train(frame, PAIR, dk)
    freqai.dd.pair_dict[PAIR]["trained_timestamp"] = stamp
    freqai.dd.save_data(model, PAIR, dk)
    return Trained(freqai, dk, model)


def predict(freqai: TripleBarrierLGBM, rows: pd.DataFrame) -> pd.Series:
    """A live bot's prediction step: FreqAI's load_data (from disk after a restart), predict."""
    dk = FreqaiDataKitchen(freqai.config, live=True, pair=PAIR)
    dk.set_paths(PAIR, freqai.dd.pair_dict[PAIR]["trained_timestamp"])
    freqai.model = freqai.dd.load_data(PAIR, dk)
    predictions, _ = freqai.predict(rows.reset_index(drop=True), dk)
    return predictions[TAKE_PROFIT]


def registry(config: dict[str, Any]) -> ModelRegistry:
    return ModelRegistry(models_dir(config) / REGISTRY_DIR)


def models_dir(config: dict[str, Any]) -> Path:
    return Path(config["user_data_dir"]) / "models" / config["freqai"]["identifier"]
