"""A FreqAI backtest with the placebo shuffle and the ``consecutive`` edge gate rule: every
training records its test in the pair's gate history, and the decision uses the previous
training whose calibration block is disjoint from its own, read from that history on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.ml.gate_history import GATE_HISTORY_DIR, GateHistory
from tribar.ml.gate_rule import GateRecord
from tribar.ml.label_history import HISTORY_DIR, TakeProfitHistory
from tribar.ml.model_metrics import METRICS_FILE

pytestmark = pytest.mark.freqtrade

IDENTIFIER = "tribar-test-gate-rule-backtest"
PAIR = "BTC/USDT"


def test_placebo_and_consecutive_rule_in_a_walk_forward_backtest(tmp_path: Path) -> None:
    user_data = tmp_path / "ud"
    models = user_data / "models" / IDENTIFIER
    # A test recorded by an earlier run (a restart): it failed, so it keeps the gate closed for
    # the trainings whose previous independent test it is.
    earlier = GateRecord(
        pd.Timestamp("2025-06-01", tz="UTC"), pd.Timestamp("2025-05-13", tz="UTC"),
        pd.Timestamp("2025-05-31", tz="UTC"), False, 0.52, 0.1,
    )  # fmt: skip
    GateHistory(models / GATE_HISTORY_DIR).record(PAIR, earlier)
    override = tmp_path / "override.json"
    # 10-day slide, shorter than the ~18-day calibration block: neighbouring trainings' blocks
    # overlap (as live, retraining daily), so "previous" must skip to the one before.
    # edge_gate_z -10: every test passes, so the decision is the rule's alone.
    override.write_text(json.dumps({"freqai": {
        "identifier": IDENTIFIER, "backtest_period_days": 10,
        "tribar": {"placebo_shuffle_seed": 5, "edge_gate_rule": "consecutive",
                   "edge_gate_z": -10},
    }}))  # fmt: skip
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(override),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"), "-p", PAIR,
        "--timerange", "20250701-20250731", "--cache", "none",
        "--backtest-directory", str(tmp_path), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        env={"FREQTRADE__USER_DATA_DIR": str(user_data)},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]

    runs = [json.loads(p.read_text()) for p in sorted(models.glob(f"sub-train-*/{METRICS_FILE}"))]
    assert len(runs) == 3, [r.get("train_end") for r in runs]
    gates = [r["edge_gate"] for r in runs]
    assert all(r["placebo"] == {"shuffle_seed": 5, "block_rows": 24} for r in runs)
    assert all(g["rule"] == "consecutive" and g["test_passed"] for g in gates)

    starts = [pd.Timestamp(g["calibration_start"]) for g in gates]
    ends = [pd.Timestamp(g["calibration_end"]) for g in gates]
    assert starts[1] < ends[0] and ends[0] + pd.Timedelta(hours=24) <= starts[2]  # the premise
    # 1st and 2nd: the previous independent test is the earlier run's failed one -> closed.
    assert [g["previous"] for g in gates[:2]] == [earlier.as_dict()] * 2
    assert not gates[0]["passed"] and not gates[1]["passed"]
    # 3rd: the 1st training (the 2nd's block overlaps) passed, and so did its own -> open.
    assert pd.Timestamp(gates[2]["previous"]["train_end"]) == pd.Timestamp(runs[0]["train_end"])
    assert gates[2]["passed"]
    assert "rule consecutive, this test passed, previous failed" in output

    history = GateHistory(models / GATE_HISTORY_DIR).load(PAIR)
    assert [r.train_end for r in history[1:]] == [pd.Timestamp(r["train_end"]) for r in runs]

    # The models trained on shuffled labels: the calibration block's take-profit rate differs
    # from the real labels' rate on the same rows (the label history keeps the real labels).
    real = TakeProfitHistory(models / HISTORY_DIR).load(PAIR)
    differences = []
    for run, start, end in zip(runs, starts, ends, strict=True):
        block = real[(real.index >= start) & (real.index <= end)]
        assert len(block) == run["calibration_raw"]["n"]
        differences.append(abs(float(block.mean()) - run["calibration_raw"]["base_rate"]))
    assert max(differences) > 0.01, differences
