"""The pooled model inside real FreqAI: a backtest of three pairs trains once per walk-forward
window and serves that one model to every pair; the live cache's reuse rule."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.designs.pooled_model import PooledWindow
from tribar.freqaimodels.TripleBarrierLGBMPooled import TripleBarrierLGBMPooled
from tribar.ml.barrier_classifier import BarrierClassifier
from tribar.ml.model_metrics import METRICS_FILE

PAIRS = ("SOL/USDT", "BTC/USDT", "ETH/USDT")


@pytest.mark.freqtrade
def test_backtest_trains_one_model_per_window_for_all_pairs(tmp_path: Path) -> None:
    identifier = "tribar-test-pooled"
    (tmp_path / "ud").mkdir()
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "--strategy", "TripleBarrierMLPooled",
        "--freqaimodel", "TripleBarrierLGBMPooled", "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"),
        "-p", *PAIRS, "--timerange", "20250701-20250705", "--cache", "none",
        "--backtest-directory", str(tmp_path),
        env={"FREQTRADE__FREQAI__IDENTIFIER": identifier,
             "FREQTRADE__FREQAI__TRAIN_PERIOD_DAYS": "45",
             "FREQTRADE__FREQAI__BACKTEST_PERIOD_DAYS": "2",
             "FREQTRADE__USER_DATA_DIR": str(tmp_path / "ud")},
        timeout=400,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "STRATEGY SUMMARY" in output
    trainings = re.findall(r"pooled triple-barrier training for window (\S+ \S+) \.\. (\S+ \S+) "
                           r"\((\S+) first\): 3 pairs", output)  # fmt: skip
    windows = {(start, stop) for start, stop, _ in trainings}
    assert len(trainings) == len(windows) == 2, output[-3000:]
    served = re.findall(r"(\S+/USDT): serving the pooled model of window (\S+ \S+) \.\. (\S+ \S+)",
                        output)  # fmt: skip
    # Each window: one pair trains, the two others are served its model.
    assert len(served) == 2 * len(windows)
    assert {(start, stop) for _, start, stop in served} == windows
    for pair in PAIRS:
        assert output.count(f"{pair}: training finished") == len(windows)
    assert "left out of the pooled training" not in output

    # FreqAI saved a model per pair and window; the pairs of one window share the booster.
    models = tmp_path / "ud" / "models" / identifier
    by_window: dict[str, list[dict[str, Any]]] = {}
    for path in models.glob(f"sub-train-*/{METRICS_FILE}"):
        metrics = json.loads(path.read_text())
        by_window.setdefault(metrics["pooled"]["window_stop"], []).append(metrics)
    assert len(by_window) == 2
    for metrics in by_window.values():
        assert sorted(m["pair"] for m in metrics) == sorted(PAIRS)
        assert len({m["pooled"]["trained_for"] for m in metrics}) == 1
        assert {json.dumps(m["calibration_raw"], sort_keys=True) for m in metrics} == {
            json.dumps(metrics[0]["calibration_raw"], sort_keys=True)
        }
        assert all(sorted(m["pooled"]["pairs"]) == sorted(PAIRS) for m in metrics)


def _window(stop: pd.Timestamp) -> PooledWindow:
    return PooledWindow(
        start=stop - pd.Timedelta(days=90), stop=stop, trained_for="BTC/USDT",
        pairs=("BTC/USDT", "ETH/USDT"), features=["%-a"],
        model=BarrierClassifier.untrained("test", ["%-a"]), pipeline=None, holdouts={},
        train_seconds=0.0,
    )  # fmt: skip


def test_live_reuses_the_pooled_model_until_live_retrain_hours_pass(tmp_path: Path) -> None:
    config: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    config["user_data_dir"] = tmp_path
    config["freqai"]["live_retrain_hours"] = 24
    model = TripleBarrierLGBMPooled(config=config)
    trained = pd.Timestamp("2025-07-01 00:00", tz="UTC")
    model._windows[(trained - pd.Timedelta(days=90), trained)] = _window(trained)

    def reused(hours_later: float, pair: str = "ETH/USDT") -> bool:
        stop = trained + pd.Timedelta(hours=hours_later)
        return model._reusable(stop - pd.Timedelta(days=90), stop, pair, live=True) is not None

    # The pairs after the first in FreqAI's training queue, minutes to hours later: reused.
    assert reused(0.1) and reused(23.9)
    # A day later the next round of live retraining: a new pooled model.
    assert not reused(24.0)
    # A pair the cached model was not trained with (whitelist changed): a new pooled model.
    assert not reused(1.0, pair="SOL/USDT")
    # Backtests match windows exactly.
    start = trained - pd.Timedelta(days=90)
    assert model._reusable(start, trained, "ETH/USDT", live=False) is not None
    assert model._reusable(start, trained + pd.Timedelta(hours=1), "ETH/USDT", live=False) is None


@pytest.mark.freqtrade
def test_replayed_dry_run_trains_once_per_retraining_round(tmp_path: Path) -> None:
    """`freqtrade trade` (dry-run, replayed clock): FreqAI's background thread retrains the pairs
    one after another; the first due pair trains the pooled model, the others are served it."""
    layer = tmp_path / "pooled-live.json"
    layer.write_text(json.dumps({
        "exchange": {"pair_whitelist": list(PAIRS)},
        "freqaimodel": "TripleBarrierLGBMPooled",
        "freqai": {"identifier": "replay-pooled", "train_period_days": 30,
                   "live_retrain_hours": 6, "expiration_hours": 1000},
    }))  # fmt: skip
    run_dir = tmp_path / "run"
    result = run_tribar(
        "paper", "--replay", "20250601..20250602", "--run-dir", str(run_dir),
        "-c", "config.json", "-c", str(layer), "--strategy", "TripleBarrierMLPooled",
        "--freqaimodel-path", str(FREQAIMODEL_DIR), "--step", "1800",
        timeout=400,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # The bot's log: freqtrade.log when the replay writes one, else its console output.
    logfile = run_dir / "freqtrade.log"
    log = logfile.read_text() if logfile.is_file() else output
    trainings = re.findall(r"pooled triple-barrier training for window .* \((\S+) first\): "
                           r"3 pairs", log)  # fmt: skip
    served = re.findall(r"(\S+/USDT): serving the pooled model of window", log)
    # 24 simulated hours, retraining due every 6: four rounds, each trained once.
    assert len(trainings) >= 3, log[-3000:]
    assert len(served) == 2 * len(trainings), log[-3000:]
    assert "left out of the pooled training" not in log
    assert "Traceback" not in log
