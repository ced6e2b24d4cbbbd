"""The model-level study (``tribar tune study``) in ``docs/results.md``: its trials, the best
design next to the shipped one scored the same way, the deflated Sharpe ratio for the number of
trials, and what FreqAI's walk-forward backtest (the ``study-best`` variants) made of the best
design. Every figure is read from the study's storage or the evaluation; nothing is typed in."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from freqtrade.exchange import timeframe_to_minutes

from tribar.evaluate.evaluation import Evaluation, StrategyOutcome
from tribar.evaluate.variants import STUDY_BEST_BARRIERS, STUDY_BEST_LGBM

# The design the study-best variants run, in the study's parameter names (horizon: the shipped
# label_period_candles; features: the shipped indicator periods).
STUDY_BEST_PARAMS: dict[str, Any] = {
    **STUDY_BEST_LGBM, **STUDY_BEST_BARRIERS, "horizon": 24, "feature_set": "standard",
}  # fmt: skip


class StudyReportError(ValueError):
    """The study named for the report is missing or cannot be scored."""


@dataclass(frozen=True)
class DesignFigures:
    t_stat: float
    auc: float
    log_loss: float
    n_trades: int
    net_return: float
    trade_sharpe: float


@dataclass(frozen=True)
class StudySummary:
    name: str
    storage: str  # as the report names it (relative to the repository where possible)
    states: dict[str, int]  # trials per Optuna state
    data: dict[str, Any]
    best_number: int
    best_params: dict[str, Any]
    best: DesignFigures
    dsr: float
    shipped: DesignFigures


def _figures(score: Any) -> DesignFigures:
    return DesignFigures(
        score.trade_t_stat, score.auc, score.log_loss, score.n_trades, score.net_return,
        score.trade_sharpe,
    )  # fmt: skip


def summarise_study(storage_file: Path, study_name: str, datadir: Path, shown: str) -> StudySummary:
    """Load the study, take its best trial and its DSR, and score the shipped design on the data
    the study recorded, with the study's own settings."""
    import optuna

    from tribar.tuning.model_study import (
        SHIPPED_DESIGN,
        best_design_dsr,
        load_candles,
        score_design,
        study_data,
    )

    if not storage_file.is_file():
        raise StudyReportError(f"model study storage {storage_file} not found")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{storage_file}")
    except KeyError as exc:
        raise StudyReportError(f"no study {study_name!r} in {storage_file}") from exc
    data = study_data(study)
    if data is None:
        raise StudyReportError(
            f"study {study_name!r} in {storage_file} records no data settings (made before "
            "tribar recorded them); run it again with tribar tune study"
        )
    best = best_design_dsr(study)
    if best is None:
        raise StudyReportError(f"study {study_name!r} in {storage_file} has no completed trial")
    row, dsr = best
    states: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    candle = pd.Timedelta(minutes=timeframe_to_minutes(data["timeframe"]))
    end = str(pd.Timestamp(data["last_candle"]) + candle)
    candles = load_candles(datadir, data["pairs"], data["timeframe"], data["first_candle"], end)
    shipped = score_design(
        candles, SHIPPED_DESIGN, fee=data["fee"], n_folds=data["n_folds"], embargo=data["embargo"]
    )
    best_figures = DesignFigures(
        float(row.objective if row.objective is not None else math.nan),
        float(row.auc if row.auc is not None else math.nan),
        float(row.log_loss if row.log_loss is not None else math.nan),
        int(row.n_trades or 0),
        float(row.net_return if row.net_return is not None else math.nan),
        float(row.trade_sharpe if row.trade_sharpe is not None else math.nan),
    )
    return StudySummary(
        study_name, shown, states, data, row.number, dict(row.params), best_figures, dsr,
        _figures(shipped),
    )  # fmt: skip


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "n/a"


def _design(params: dict[str, Any]) -> str:
    order = ("num_leaves", "learning_rate", "n_estimators", "min_child_samples", "reg_lambda",
             "k_tp", "k_sl", "horizon", "feature_set")  # fmt: skip
    return ", ".join(f"`{k}` {params[k]:.3g}" if isinstance(params[k], float) else
                     f"`{k}` {params[k]}" for k in order if k in params)  # fmt: skip


def _same_design(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def close(x: Any, y: Any) -> bool:
        if isinstance(x, float | int) and isinstance(y, float | int):
            return math.isclose(float(x), float(y), rel_tol=0.02)
        return bool(x == y)

    return set(a) == set(b) and all(close(a[k], b[k]) for k in a)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def proposal(best: StrategyOutcome | None, shipped: StrategyOutcome | None) -> tuple[bool, str]:
    """The stated rule: propose the study's best design as the new default only when, in FreqAI's
    walk-forward backtest with the shipped edge gate, it passes the gate on more trainings than
    the shipped design and holds out of sample (total return above 0 and the lower end of its
    Sharpe 95 % interval above 0)."""
    if best is None or shipped is None:
        return False, "the walk-forward variants `study-best` and `edge-gate` were not both run"
    passed = best.gate_openings[0] if best.gate_openings else 0
    shipped_passed = shipped.gate_openings[0] if shipped.gate_openings else 0
    p = best.perf
    more_windows = passed > shipped_passed
    holds = p.total_return > 0 and math.isfinite(p.sharpe_ci[0]) and p.sharpe_ci[0] > 0
    facts = (
        f"its edge gate opened on {_count(passed, 'training')} (shipped design: "
        f"{shipped_passed}); {_count(p.trades, 'trade')}, total return "
        f"{100 * p.total_return:.2f} %, Sharpe 95 % CI lower end {_num(p.sharpe_ci[0])}"
    )
    return more_windows and holds, facts


def study_section(summary: StudySummary | None, e: Evaluation, command: str) -> str:
    if summary is None:
        return (
            "No model study was given to this report. Run one (`tribar tune study`, see "
            "docs/tuning.md) and pass it with `--model-study FILE --model-study-name NAME`."
        )
    d = summary.data
    complete = summary.states.get("COMPLETE", 0)
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(summary.states.items()))
    rows = [
        (f"best of {complete} (trial {summary.best_number}: {_design(summary.best_params)})",
         summary.best),
        ("the shipped design in the study's terms (`tribar.tuning.model_study.SHIPPED_DESIGN`; "
         "the shipped model stops early at up to 600 trees)", summary.shipped),
    ]  # fmt: skip
    table = [
        "| design | trade t-stat | OOS AUC | log-loss | trades | compounded net return | "
        "per-trade Sharpe |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, f in rows:
        net = f"{100 * f.net_return:+.0f} %" if math.isfinite(f.net_return) else "n/a"
        table.append(
            f"| {label} | {_num(f.t_stat)} | {_num(f.auc, 3)} | {_num(f.log_loss, 3)} | "
            f"{f.n_trades:,} | {net} | {_num(f.trade_sharpe, 3)} |"
        )
    best_wf, shipped_wf = e.strategy("study-best"), e.strategy("edge-gate")
    proposed, facts = proposal(best_wf, shipped_wf)
    same = _same_design(summary.best_params, STUDY_BEST_PARAMS)
    variant_note = (
        "The `study-best` and `study-best-no-gate` variants above run exactly this best design."
        if same
        else "The `study-best` variants run another design "
        f"({_design(STUDY_BEST_PARAMS)}) than this study's best; their figures are not this "
        "design's."
    )
    verdict = (
        f"**Proposed as the new default**: in FreqAI's walk-forward backtest {facts}."
        if proposed
        else "**No new default proposed.** The stated rule — more trainings through the shipped "
        "edge gate than the shipped design, and out of sample a total return above 0 with the "
        "lower end of the Sharpe 95 % interval above 0 — is not met: in FreqAI's walk-forward "
        f"backtest (`study-best`) {facts}."
    )
    return "\n\n".join(
        [
            f"Study `{summary.name}` in `{summary.storage}` ({states}): {len(d['pairs'])} pairs, "
            f"{d['timeframe']} candles {d['first_candle'][:10]} … {d['last_candle'][:10]}, "
            f"{d['n_folds']} purged walk-forward folds per pair (embargo {d['embargo']} "
            f"candles), fee {100 * d['fee']:.1f} % per side. Every figure is out of sample (the "
            "folds' test blocks), pooled over pairs and folds; the trades are the study's rule "
            "(P(take-profit) above the break-even probability of the barrier geometry, one "
            "position per pair), not a Freqtrade backtest. Command and method: docs/tuning.md.",
            "\n".join(table),
            f"Deflated Sharpe ratio of the best design for {complete} trials: "
            f"**{_num(summary.dsr, 2)}** (the probability that its per-trade Sharpe beats what "
            f"the best of {complete} skill-less designs would reach by luck).",
            variant_note,
            verdict,
        ]
    )
