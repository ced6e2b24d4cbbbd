"""The placebo label shuffle and the ``consecutive`` edge gate rule inside FreqAI training."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT, BarrierClassifier
from tribar.ml.gate_history import GATE_HISTORY_DIR, GateHistory

REPO_ROOT = Path(__file__).resolve().parents[2]
PAIR = "BTC/USDT"
ROWS = 3000


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path
    cfg["freqai"]["identifier"] = f"tribar-test-gate-rule-{uuid.uuid4().hex[:8]}"
    return cfg


def informative_window(start: str, seed: int) -> pd.DataFrame:
    """Hourly rows whose label follows a slowly moving feature: a strong, real edge."""
    rng = np.random.default_rng(seed)
    level = np.zeros(ROWS)
    for t in range(1, ROWS):
        level[t] = 0.97 * level[t - 1] + rng.normal(0, 0.25)
    take_profit = rng.random(ROWS) < 1 / (1 + np.exp(1.0 - 3.0 * level))
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=ROWS, freq="1h", tz="UTC"),
            "%-level": level,
            "%-noise": rng.normal(size=ROWS),
            "&-tb": np.where(take_profit, TAKE_PROFIT, NO_TAKE_PROFIT),
        }
    )


def train(config: dict[str, Any], frame: pd.DataFrame) -> BarrierClassifier:
    model = TripleBarrierLGBM(config=config)
    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.live = False  # a backtest's kitchen
    dk.data_path = Path(config["user_data_dir"]) / uuid.uuid4().hex
    dk.find_features(frame)
    dk.find_labels(frame)
    trained: BarrierClassifier = model.train(frame, PAIR, dk)
    return trained


def test_the_placebo_removes_a_real_edge(config: dict[str, Any]) -> None:
    frame = informative_window("2025-01-01", seed=1)
    real = train(config, frame).metrics
    assert real["edge_gate"]["test_passed"] and real["calibration_raw"]["auc"] > 0.8
    assert "placebo" not in real
    aucs = []
    for seed in range(5):
        config["freqai"]["tribar"]["placebo_shuffle_seed"] = seed
        metrics = train(config, frame).metrics
        assert metrics["placebo"] == {"shuffle_seed": seed, "block_rows": 24}
        aucs.append(metrics["calibration_raw"]["auc"])
    assert all(a < 0.7 for a in aucs), aucs
    assert abs(float(np.mean(aucs)) - 0.5) < 0.08, aucs
    assert len(set(aucs)) == 5  # each seed its own permutation


@pytest.mark.parametrize("runmode", [RunMode.DRY_RUN, RunMode.LIVE])
def test_the_placebo_refuses_to_trade(config: dict[str, Any], runmode: RunMode) -> None:
    config["runmode"] = runmode
    config["freqai"]["tribar"]["placebo_shuffle_seed"] = 1
    with pytest.raises(OperationalException, match=r"freqai\.tribar\.placebo_shuffle_seed"):
        TripleBarrierLGBM(config=config)
    config["freqai"]["tribar"]["placebo_shuffle_seed"] = None
    TripleBarrierLGBM(config=config)  # without it the same config starts


def test_a_bad_rule_stops_the_start(config: dict[str, Any]) -> None:
    config["freqai"]["tribar"]["edge_gate_rule"] = "twice"
    with pytest.raises(OperationalException, match=r"freqai\.tribar\.edge_gate_rule.*'twice'"):
        TripleBarrierLGBM(config=config)


def test_consecutive_needs_the_previous_independent_training_to_pass(
    config: dict[str, Any],
) -> None:
    config["freqai"]["tribar"]["edge_gate_rule"] = "consecutive"
    first = train(config, informative_window("2025-01-01", seed=1))
    gate = first.metrics["edge_gate"]
    # Its own test passes, but there is no earlier evidence: closed, the long-run rate serves.
    assert gate["test_passed"] and not gate["passed"] and gate["previous"] is None
    assert gate["rule"] == "consecutive" and first.no_edge_rate is not None
    # 30 days later: the calibration blocks (the last 25 days of each window) are disjoint.
    second = train(config, informative_window("2025-01-31", seed=2))
    gate = second.metrics["edge_gate"]
    assert gate["test_passed"] and gate["passed"] and second.no_edge_rate is None
    assert pd.Timestamp(gate["previous"]["train_end"]) == pd.Timestamp(first.metrics["train_end"])
    history = GateHistory(Path(config["user_data_dir"]) / GATE_HISTORY_DIR).load(PAIR)
    assert [r.test_passed for r in history] == [True, True]
    assert history[0].calibration_end < history[1].calibration_start


def test_single_is_unchanged_and_still_records_the_history(config: dict[str, Any]) -> None:
    config["freqai"]["tribar"]["edge_gate_rule"] = "single"
    model = train(config, informative_window("2025-01-01", seed=1))
    gate = model.metrics["edge_gate"]
    assert gate["rule"] == "single" and gate["passed"] and model.no_edge_rate is None
    assert len(GateHistory(Path(config["user_data_dir"]) / GATE_HISTORY_DIR).load(PAIR)) == 1
