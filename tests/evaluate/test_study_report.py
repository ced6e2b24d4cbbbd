"""The model study's section of docs/results.md: what it reads from the study's storage, the
shipped design scored on the study's own data, the proposal rule, and the challenger counts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tribar.evaluate.evaluation import Evaluation, challenger_rejections
from tribar.evaluate.setup import BASE_CONFIG, BUNDLED_DATA
from tribar.evaluate.study_report import (
    STUDY_BEST_PARAMS,
    StudyReportError,
    proposal,
    study_section,
    summarise_study,
)
from tribar.tuning.model_study import (
    FEATURE_SETS,
    SHIPPED_DESIGN,
    StudySettings,
    best_design_dsr,
    load_candles,
    run_worker,
    score_design,
)

PAIRS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StudySettings]:
    storage = tmp_path_factory.mktemp("study") / "study.sqlite"
    settings = StudySettings(
        storage=f"sqlite:///{storage}", study_name="small", n_trials=3, seed=1, timeframe="1h"
    )
    candles = load_candles(BUNDLED_DATA, PAIRS, "1h", "2025-05-01", "2025-07-01")
    run_worker(settings, candles, worker="w")
    return storage, settings


def test_summary_reads_the_study_and_scores_the_shipped_design_on_its_data(
    small_study: tuple[Path, StudySettings],
) -> None:
    storage, settings = small_study
    summary = summarise_study(storage, "small", BUNDLED_DATA, "study.sqlite")
    import optuna

    study = optuna.load_study(study_name="small", storage=settings.storage)
    best = best_design_dsr(study)
    assert best is not None
    row, dsr = best
    assert summary.best_number == row.number and summary.best_params == row.params
    assert summary.best.t_stat == pytest.approx(row.objective)
    assert summary.dsr == pytest.approx(dsr)
    assert summary.states == {"COMPLETE": 3}
    assert summary.data["pairs"] == PAIRS
    assert summary.data["first_candle"].startswith("2025-05-01")
    assert summary.data["last_candle"].startswith("2025-06-30 23:00")
    # The shipped design, recomputed here on the same candles with the study's settings.
    candles = load_candles(BUNDLED_DATA, PAIRS, "1h", "2025-05-01", "2025-07-01")
    shipped = score_design(candles, SHIPPED_DESIGN, fee=0.001, n_folds=4, embargo=24)
    assert summary.shipped.auc == pytest.approx(shipped.auc)
    assert summary.shipped.n_trades == shipped.n_trades
    assert summary.shipped.t_stat == pytest.approx(shipped.trade_t_stat)


def test_a_worker_with_other_data_cannot_join_the_study(
    small_study: tuple[Path, StudySettings],
) -> None:
    _, settings = small_study
    other = load_candles(BUNDLED_DATA, PAIRS, "1h", "2025-04-01", "2025-07-01")
    with pytest.raises(ValueError, match="was scored on"):
        run_worker(StudySettings(**{**settings.__dict__, "n_trials": 4}), other, worker="w2")


def test_missing_storage_or_study_is_a_clear_error(
    small_study: tuple[Path, StudySettings], tmp_path: Path
) -> None:
    with pytest.raises(StudyReportError, match="not found"):
        summarise_study(tmp_path / "none.sqlite", "small", BUNDLED_DATA, "x")
    with pytest.raises(StudyReportError, match="no study 'other'"):
        summarise_study(small_study[0], "other", BUNDLED_DATA, "x")


def test_shipped_design_is_the_shipped_model_strategy_and_config() -> None:
    from tribar.freqaimodels.TripleBarrierLGBM import TripleBarrierLGBM
    from tribar.strategies.TripleBarrierML import TripleBarrierML

    lgbm = TripleBarrierLGBM.default_lgbm_parameters
    for key in ("num_leaves", "learning_rate", "min_child_samples", "reg_lambda"):
        assert getattr(SHIPPED_DESIGN, key) == lgbm[key], key
    assert SHIPPED_DESIGN.k_tp == TripleBarrierML.k_tp.value
    assert SHIPPED_DESIGN.k_sl == TripleBarrierML.k_sl.value
    features = json.loads(BASE_CONFIG.read_text())["freqai"]["feature_parameters"]
    assert SHIPPED_DESIGN.horizon == features["label_period_candles"]
    assert FEATURE_SETS[SHIPPED_DESIGN.feature_set] == tuple(features["indicator_periods_candles"])


def _outcome(passed: int, total_return: float, ci_low: float, trades: int = 10) -> Any:
    perf = SimpleNamespace(total_return=total_return, sharpe_ci=(ci_low, ci_low + 1), trades=trades)
    return SimpleNamespace(gate_openings=(passed, 140), perf=perf)


def test_proposal_rule_needs_more_gate_openings_and_an_out_of_sample_hold() -> None:
    shipped = _outcome(1, 0.0, math.nan, trades=0)
    assert proposal(_outcome(5, 0.04, 0.2), shipped)[0] is True
    assert proposal(_outcome(5, 0.04, -0.1), shipped)[0] is False  # CI reaches below 0
    assert proposal(_outcome(5, -0.01, 0.2), shipped)[0] is False  # lost money
    assert proposal(_outcome(1, 0.04, 0.2), shipped)[0] is False  # no more windows open
    assert proposal(None, shipped)[0] is False


def test_section_says_whether_the_variants_run_the_studys_best_design(
    small_study: tuple[Path, StudySettings],
) -> None:
    summary = summarise_study(small_study[0], "small", BUNDLED_DATA, "study.sqlite")
    evaluation = cast(Evaluation, SimpleNamespace(strategy=lambda name: None))
    text = study_section(summary, evaluation, "tribar evaluate")
    assert f"trial {summary.best_number}" in text
    assert "No new default proposed" in text
    if summary.best_params != STUDY_BEST_PARAMS:
        assert "run another design" in text
    same = summary.__class__(**{**summary.__dict__, "best_params": dict(STUDY_BEST_PARAMS)})
    assert "run exactly this best design" in study_section(same, evaluation, "x")
    assert "No model study was given" in study_section(None, evaluation, "x")


def test_challenger_rejections_count_the_registrys_rejected_versions(tmp_path: Path) -> None:
    registry = tmp_path / "tribar_registry"
    registry.mkdir()
    versions = [{"version": 1, "status": "retired"}, {"version": 2, "status": "rejected"},
                {"version": 3, "status": "serving"}]  # fmt: skip
    (registry / "BTC_USDT.json").write_text(json.dumps({"pair": "BTC/USDT", "versions": versions}))
    (registry / "ETH_USDT.json").write_text(
        json.dumps({"pair": "ETH/USDT", "versions": [{"version": 1, "status": "rejected"}]})
    )
    assert challenger_rejections(tmp_path) == (2, 4)
    assert challenger_rejections(tmp_path / "none") is None
