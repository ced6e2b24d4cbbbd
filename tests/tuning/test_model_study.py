"""The model-level study: purged folds, scoring, and Optuna's shared storage across workers."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from tribar.evaluate.setup import BUNDLED_DATA
from tribar.tuning.model_study import (
    ModelDesign,
    StudySettings,
    best_design_dsr,
    load_candles,
    non_overlapping_trades,
    purged_walk_forward_folds,
    run_worker,
    score_design,
    trial_rows,
)

REPO = Path(__file__).resolve().parents[2]
TRIBAR = [sys.executable, "-m", "tribar.cli"]


@given(
    n=st.integers(200, 3000),
    n_folds=st.integers(1, 6),
    horizon=st.integers(0, 48),
    embargo=st.integers(0, 48),
)
def test_no_training_label_reaches_the_embargo_before_its_test_block(
    n: int, n_folds: int, horizon: int, embargo: int
) -> None:
    try:
        folds = purged_walk_forward_folds(n, n_folds, horizon, embargo)
    except ValueError as exc:
        assert "without training rows" in str(exc)
        return
    assert len(folds) == n_folds
    assert folds[-1].test[-1] == n - 1
    for k, fold in enumerate(folds):
        test_start = int(fold.test[0])
        # The last training row's label window t+1 … t+horizon ends before the embargo.
        assert int(fold.train[-1]) + horizon < test_start - embargo
        assert int(fold.train[0]) == 0  # expanding window
        assert np.all(np.diff(fold.test) == 1)
        if k:
            assert test_start == int(folds[k - 1].test[-1]) + 1  # test blocks tile the tail


def test_a_signal_during_an_open_trade_is_ignored() -> None:
    take = np.array([1, 1, 0, 1, 1, 0, 1], dtype=bool)
    hold = np.array([3, 1, 1, 2, 1, 1, np.nan])
    # Row 0 holds 3 candles (rows 1, 2 are inside it); row 3 holds 2 (row 4); row 6 unlabelled.
    assert non_overlapping_trades(take, hold).tolist() == [0, 3]


def _planted_candles(n: int, seed: int, signal: bool) -> pd.DataFrame:
    """Hourly candles whose next hours drift up after 23:00-05:00 when ``signal`` (the hour
    features carry it); a plain random walk otherwise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC")
    drift = np.where(dates.hour < 6, 0.004, -0.001) if signal else np.zeros(n)
    log_close = np.cumsum(drift + rng.normal(0, 0.004, n)) + math.log(100.0)
    close = np.exp(log_close)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wiggle = np.abs(rng.normal(0, 0.002, n))
    return pd.DataFrame(
        {
            "date": dates, "open": open_, "close": close,
            "high": np.maximum(open_, close) * (1 + wiggle),
            "low": np.minimum(open_, close) * (1 - wiggle),
            "volume": rng.uniform(100, 200, n),
        }
    )  # fmt: skip


def test_a_planted_edge_is_found_out_of_sample_and_noise_is_not() -> None:
    design = ModelDesign(
        num_leaves=7, n_estimators=80, min_child_samples=30, horizon=12, k_tp=2.0, k_sl=2.0
    )
    planted = score_design({"X/USDT": _planted_candles(3000, 1, signal=True)}, design)
    noise = score_design({"X/USDT": _planted_candles(3000, 1, signal=False)}, design)
    assert planted.auc > 0.65, planted
    assert planted.n_trades > 20 and planted.trade_t_stat > 2.0
    assert abs(noise.auc - 0.5) < 0.06, noise
    assert noise.trade_t_stat < planted.trade_t_stat


def test_one_worker_records_every_trial_and_the_best_designs_dsr(tmp_path: Path) -> None:
    candles = load_candles(BUNDLED_DATA, ["BTC/USDT", "ETH/USDT"], "1h", "2025-03-01", "2025-05-01")
    settings = StudySettings(f"sqlite:///{tmp_path / 's.sqlite'}", "unit", n_trials=4, seed=3)
    study = run_worker(settings, candles, worker="w")
    rows = trial_rows(study)
    assert [r.number for r in rows] == [0, 1, 2, 3]
    assert all(r.state == "COMPLETE" and r.worker == "w" for r in rows)
    assert all(r.n_trades is not None and r.auc is not None for r in rows)
    best = best_design_dsr(study)
    assert best is not None
    row, dsr = best
    assert row.objective == max(r.objective for r in rows if r.objective is not None)
    assert 0.0 <= dsr <= 1.0 or math.isnan(dsr)
    # Joining a study that already has its trials runs none.
    again = run_worker(settings, candles, worker="late")
    assert len(again.trials) == 4


def _study_command(storage: str, trials: int, worker: str, *extra: str) -> list[str]:
    return [
        *TRIBAR, "tune", "study", "--storage", storage, "--study-name", "shared",
        "--trials", str(trials), "--days", "60", "--end", "2025-06-01",
        "--pairs", "BTC/USDT", "ETH/USDT", "--worker-name", worker, "--seed", "5", *extra,
    ]  # fmt: skip


def _trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="shared", storage=storage).get_trials(deepcopy=False)


def test_two_worker_processes_share_one_study_on_postgresql(postgres_url: str) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    workers = [
        subprocess.Popen(_study_command(postgres_url, 10, name), cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name in ("w1", "w2")
    ]  # fmt: skip
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = _trials(postgres_url)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    # Each worker stops once the study has 10; one may finish the trial it was running.
    assert 10 <= len(finished) <= 11
    assert len(trials) == len(finished), [t.state for t in trials]  # none lost or left running
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert {t.user_attrs["worker"] for t in trials} == {"w1", "w2"}
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == len(params), "a design was run twice"


def test_a_killed_worker_trial_is_rerun_and_the_study_resumes(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.sqlite'}"
    beat = ("--heartbeat-seconds", "1", "--grace-seconds", "2")
    first = subprocess.Popen(
        _study_command(storage, 30, "first", *beat), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    killed: list[int] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        try:
            trials = _trials(storage)
        except Exception:  # the study table is not there yet
            trials = []
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        # Inside the objective (the worker is recorded once the design is drawn): Optuna's
        # heartbeat covers a trial from its first beat, not one killed in the instant between
        # its creation and that beat.
        inside = [t for t in trials if t.state == TrialState.RUNNING and "worker" in t.user_attrs]
        if len(done) >= 2 and inside:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            killed = [t.number for t in _trials(storage) if t.state == TrialState.RUNNING]
            if killed:
                break
            # It was between two trials: no trial to rescue; the test needs one, so go on.
            first = subprocess.Popen(
                _study_command(storage, 30, "first", *beat), cwd=REPO,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        time.sleep(0.05)
    assert killed, "never caught the worker inside a trial"
    before = {t.number for t in _trials(storage) if t.state == TrialState.COMPLETE}
    assert len(before) < 30
    time.sleep(3)  # past the grace period: the trial's heartbeat is stale
    second = subprocess.run(
        _study_command(storage, 30, "second", *beat), cwd=REPO,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    trials = _trials(storage)
    by_number = {t.number: t for t in trials}
    assert by_number[killed[0]].state == TrialState.FAIL
    retries = [
        t for t in trials if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed[0]
    ]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    # Optuna's retry fixes every parameter the killed trial had drawn (all of them once it is
    # inside the objective; the ones drawn so far if it died while drawing).
    assert by_number[killed[0]].params.items() <= retries[0].params.items()
    assert retries[0].user_attrs["worker"] == "second"
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 30
    # The first worker's finished trials were kept, not redone.
    assert all(by_number[n].state == TrialState.COMPLETE for n in before)
    assert all(by_number[n].user_attrs["worker"] == "first" for n in before)


@pytest.mark.parametrize("bad", ["nope"])
def test_unknown_feature_set_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match=r"feature_set.*nope"):
        ModelDesign(feature_set=bad)
