"""One real `tribar ft backtesting` walk-forward run (FreqAI retrains per window) with the
challenger gate on: every training's decision is in the registry, and the model FreqAI saved
for each window is the one the registry says served."""

from __future__ import annotations

import json
from pathlib import Path

import cloudpickle
import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.ml.challenger import ChallengerSettings, Scores, decide
from tribar.ml.registry import REGISTRY_DIR, ModelRegistry

pytestmark = pytest.mark.freqtrade

PAIRS = ("BTC/USDT", "SOL/USDT")
# Strict on purpose (no tolerance): on the bundled data the boosters have no edge, so some
# candidates lose to their incumbent and the incumbent must keep serving.
CHALLENGER = {"enabled": True, "min_auc": 0.0, "tolerance": 0.0, "log_loss_tolerance": 0.0,
              "min_shared_rows": 50}  # fmt: skip


def test_the_gate_decides_every_backtest_window_and_the_registry_shows_it(
    tmp_path: Path,
) -> None:
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    layer = tmp_path / "challenger.json"
    layer.write_text(json.dumps({"freqai": {
        "train_period_days": 30, "backtest_period_days": 10,
        "tribar": {"edge_gate_z": 1.645, "embargo_candles": 24, "challenger": CHALLENGER,
                   "selected_features_file": None},
    }}))  # fmt: skip
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(layer), "--strategy", "TripleBarrierML",
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"),
        "--timerange", "20250801-20250821", "--pairs", *PAIRS, "--cache", "none",
        env={"FREQTRADE__FREQAI__IDENTIFIER": "lifecycle-bt"}, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "BACKTESTING REPORT" in output

    models = userdir / "models" / "lifecycle-bt"
    registry = ModelRegistry(models / REGISTRY_DIR)
    settings = ChallengerSettings.from_config(CHALLENGER)
    assert sorted(registry.pairs()) == sorted(PAIRS)
    rejected_with_incumbent = 0
    for pair in PAIRS:
        state = registry.load(pair)
        versions = state["versions"]
        assert len(versions) == 2, f"{pair}: one version per backtest window"
        for entry in versions:
            d = entry["decision"]
            scores = [None if d[k] is None else Scores(**d[k])
                      for k in ("candidate", "candidate_shared", "incumbent_shared")]  # fmt: skip
            assert scores[0] is not None
            again = decide(scores[0], scores[1], scores[2], d["incumbent_version"], settings)
            assert again.accepted == d["accepted"], (pair, entry["version"], d["reasons"])
            assert entry["status"] in ("serving", "retired") if d["accepted"] else "rejected"
            assert "auc_gap" in entry["overfitting"]
            # What FreqAI saved and served for this window.
            folder = models / entry["training_folder"]
            saved = json.loads((folder / "tribar_metrics.json").read_text())
            assert saved["registry_version"] == entry["version"]
            with next(folder.glob("*_model.joblib")).open("rb") as fh:
                served = cloudpickle.load(fh)
            if d["accepted"]:
                assert served.metrics["registry_version"] == entry["version"]
            elif d["incumbent_version"] is not None:
                rejected_with_incumbent += 1
                assert served.metrics["registry_version"] == d["incumbent_version"]
                assert saved["serving_version"] == d["incumbent_version"]
                assert f"v{entry['version']} rejected" in output
            else:
                assert served.booster is None  # nothing earlier to serve: no entries
        # Second windows were compared with the first on shared rows.
        second = versions[1]["decision"]
        assert second["incumbent_version"] is not None or not versions[0]["decision"]["accepted"]
    assert rejected_with_incumbent >= 1, "expected the strict gate to reject a candidate"

    shown = run_tribar("models", "show", PAIRS[0], "--models", str(models))
    assert shown.returncode == 0, shown.stderr
    assert "AUC gap" in shown.stdout and "v2" in shown.stdout
