"""``tribar tune run``: the weekly job.

1. The model-level study on the tuning window (the last ``days`` before the held-back window).
2. Freqtrade hyperopt of TripleBarrierML with the study's best design, on the same window.
3. Backtests of the parameters in service and of the candidate on the held-back most recent
   window, which neither step saw.
4. The promotion gate (tribar.tuning.promotion): promote, or record the rejection.
5. A Telegram message; optionally ``reload_config`` on a running bot.

Freqtrade runs as subprocesses (``python -m tribar.cli ft …``, offline markets) in a work
folder of its own, so a run never touches the bot's models or results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.evaluate.setup import BUNDLED_DATA, REPO_ROOT
from tribar.tuning.model_study import (
    FEATURE_SETS,
    ModelDesign,
    StudySettings,
    best_design_dsr,
    design_of,
    load_candles,
    run_worker,
)
from tribar.tuning.promotion import (
    HistoryEntry,
    ParameterSet,
    TunePaths,
    WindowResult,
    current_parameter_set,
    decide_promotion,
    promote,
    promotion_rule_from_config,
    record,
    utc_stamp,
)

logger = logging.getLogger(__name__)

STRATEGY = "TripleBarrierML"
STRATEGY_SOURCE = REPO_ROOT / "strategies" / f"{STRATEGY}.py"
HYPEROPT_LOSS = "TribarSharpeDrawdownLoss"
PARAMETER_SPACES = ("buy", "sell", "sizing", "protection")


class TuneLockedError(RuntimeError):
    """Another ``tribar tune run`` holds the lock."""


class TuneRunError(RuntimeError):
    """A step of the weekly run failed; the parameters in service are unchanged."""


@dataclass(frozen=True)
class WeeklyOptions:
    configs: Sequence[Path]
    paths: TunePaths
    work_dir: Path
    end: datetime
    days: int = 90
    holdout_days: int = 30
    trials: int = 50
    epochs: int = 100
    jobs: int = -1
    storage: str | None = None  # Optuna RDB URL; default a SQLite file in work_dir
    datadir: Path = BUNDLED_DATA
    pairs: Sequence[str] | None = None  # default: the config's whitelist
    reload_bot: bool = False
    seed: int | None = None  # the study's sampler and hyperopt's --random-state
    timeout_seconds: float = 6 * 3600


@dataclass
class WeeklyOutcome:
    entry: HistoryEntry
    message: str
    steps: dict[str, Any] = field(default_factory=dict)


def load_config(configs: Sequence[Path]) -> dict[str, Any]:
    """The merged config files plus Freqtrade's ``FREQTRADE__`` environment variables (as the
    bot sees them: secrets such as the Telegram token come only from there)."""
    from freqtrade.configuration.environment_vars import environment_vars_to_dict
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.misc import deep_merge_dicts

    config: dict[str, Any] = load_from_files([str(c) for c in configs])
    merged: dict[str, Any] = deep_merge_dicts(environment_vars_to_dict(), config)
    return merged


def design_overlay(design: ModelDesign, base_identifier: str) -> dict[str, Any]:
    """FreqAI settings for a design. Its own identifier: models trained on other labels or
    features must never be reused for it."""
    digest = hashlib.sha256(json.dumps(design.__dict__, sort_keys=True).encode()).hexdigest()[:8]
    booster = design.booster_params()
    return {
        "freqai": {
            "identifier": f"{base_identifier}-tuned-{digest}",
            "model_training_parameters": {
                k: booster[k]
                for k in (
                    "num_leaves",
                    "learning_rate",
                    "n_estimators",
                    "min_child_samples",
                    "reg_lambda",
                )
            },
            "feature_parameters": {
                "label_period_candles": design.horizon,
                "indicator_periods_candles": list(FEATURE_SETS[design.feature_set]),
            },
        }
    }


def _timerange(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def _write(path: Path, payload: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return path


def _strategy_copy(folder: Path, strategy_params: Mapping[str, Any]) -> Path:
    """The strategy beside its own parameter file: Freqtrade reads ``<strategy>.json`` next to
    the strategy, and hyperopt exports its best parameters there."""
    from tribar.tuning.promotion import strategy_param_file

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(STRATEGY_SOURCE, folder / STRATEGY_SOURCE.name)
    _write(folder / f"{STRATEGY}.json", strategy_param_file(STRATEGY, strategy_params))
    return folder


def _run_ft(args: Sequence[str], log_file: Path, timeout: float) -> None:
    command = [sys.executable, "-m", "tribar.cli", "ft", *args]
    with log_file.open("w") as log:
        # cwd: config.json's relative paths (risk limits, markets) resolve as for a user.
        completed = subprocess.run(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
            check=False,
        )  # fmt: skip
    if completed.returncode != 0:
        raise TuneRunError(
            f"freqtrade {args[0]} exited {completed.returncode}; log {log_file}:\n"
            f"{log_file.read_text()[-2000:]}"
        )


class _Run:
    def __init__(self, options: WeeklyOptions, config: dict[str, Any]) -> None:
        self.o = options
        self.config = config
        self.holdout_start = options.end - timedelta(days=options.holdout_days)
        self.tune_start = self.holdout_start - timedelta(days=options.days)
        self.stamp = utc_stamp()
        self.dir = options.work_dir / self.stamp
        self.dir.mkdir(parents=True, exist_ok=True)

    def _common(self, overlay: Path, strategy_dir: Path, userdir: Path) -> list[str]:
        args = []
        for c in self.o.configs:
            args += ["-c", str(Path(c).resolve())]
        userdir.mkdir(parents=True, exist_ok=True)
        return [
            *args, "-c", str(overlay), "--strategy", STRATEGY,
            "--strategy-path", str(strategy_dir), "--userdir", str(userdir),
            "--datadir", str(self.o.datadir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        ]  # fmt: skip

    def study(self) -> tuple[ModelDesign, dict[str, Any]]:
        pairs = list(self.o.pairs or self.config["exchange"]["pair_whitelist"])
        candles = load_candles(
            self.o.datadir, pairs, self.config.get("timeframe", "1h"),
            self.tune_start.date().isoformat(), self.holdout_start.date().isoformat(),
        )  # fmt: skip
        storage = (
            self.o.storage or f"sqlite:///{(self.o.work_dir / 'model_study.sqlite').resolve()}"
        )
        # One study per tuning window: a killed weekly run started again resumes it.
        settings = StudySettings(
            storage=storage, study_name=f"tribar-weekly-{self.o.end:%Y%m%d}",
            n_trials=self.o.trials, fee=float(self.config.get("fee") or 0.001),
            seed=self.o.seed, timeframe=self.config.get("timeframe", "1h"),
        )  # fmt: skip
        study = run_worker(settings, candles, worker="weekly")
        best = best_design_dsr(study)
        if best is None:
            raise TuneRunError("the model study finished no trial")
        row, dsr = best
        return design_of(row.params), {
            "trial": row.number, "objective": row.objective, "auc": row.auc,
            "trades": row.n_trades, "dsr": dsr, "params": row.params,
            "trials": len(study.trials),
        }  # fmt: skip

    def hyperopt(self, candidate: ParameterSet) -> tuple[dict[str, Any], dict[str, Any]]:
        folder = self.dir / "hyperopt"
        overlay = _write(folder / "overlay.json", candidate.config_overlay)
        strategy_dir = _strategy_copy(folder / "strategy", candidate.strategy_params)
        _run_ft(
            [
                "hyperopt",
                *self._common(overlay, strategy_dir, folder / "user_data"),
                "--hyperopt-loss",
                HYPEROPT_LOSS,
                "--spaces",
                "buy",
                "-e",
                str(self.o.epochs),
                "-j",
                str(self.o.jobs),
                "--timerange",
                _timerange(self.tune_start, self.holdout_start),
                *(["--random-state", str(self.o.seed)] if self.o.seed is not None else []),
            ],
            folder / "freqtrade.log",
            self.o.timeout_seconds,
        )
        exported = json.loads((strategy_dir / f"{STRATEGY}.json").read_text())
        # Freqtrade rewrites the file only when an epoch scored as a best result.
        params = dict(exported.get("params") or candidate.strategy_params)
        # The strategy's parameter spaces (Freqtrade's export also holds roi/stoploss, which
        # the barrier exits make meaningless); "sizing" is tribar's own (docs/tuning.md).
        params = {k: v for k, v in params.items() if k in PARAMETER_SPACES}
        best = _best_epoch(folder / "user_data" / "hyperopt_results")
        return params, best

    def backtest(self, name: str, parameters: ParameterSet) -> WindowResult:
        from tribar.evaluate.metrics import load_result, performance

        folder = self.dir / f"holdout-{name}"
        overlay = _write(folder / "overlay.json", parameters.config_overlay)
        strategy_dir = _strategy_copy(folder / "strategy", parameters.strategy_params)
        results = folder / "results"
        results.mkdir(parents=True, exist_ok=True)
        _run_ft(
            [
                "backtesting",
                *self._common(overlay, strategy_dir, folder / "user_data"),
                "--timerange",
                _timerange(self.holdout_start, self.o.end),
                "--export",
                "trades",
                "--backtest-directory",
                str(results),
                "--cache",
                "none",
            ],
            folder / "freqtrade.log",
            self.o.timeout_seconds,
        )
        zips = sorted(results.glob("*.zip"))
        if len(zips) != 1:
            raise TuneRunError(f"holdout backtest {name}: expected one result in {results}")
        result = load_result(zips[0], STRATEGY, self.holdout_start, self.o.end)
        perf = performance(result.equity, result.trades, self.holdout_start, self.o.end)
        return WindowResult(
            sharpe=float(perf.sharpe), max_drawdown=float(perf.max_drawdown),
            trades=int(perf.trades), total_return=float(perf.total_return),
        )  # fmt: skip


def _best_epoch(results_dir: Path) -> dict[str, Any]:
    files = sorted(results_dir.glob("*.fthypt"))
    if not files:
        return {}
    epochs = [json.loads(line) for line in files[-1].read_text().splitlines() if line.strip()]
    best = [e for e in epochs if e.get("is_best")]
    if not best:
        return {"epochs": len(epochs), "best": None}
    last = best[-1]
    metrics = last.get("results_metrics") or {}
    return {
        "epochs": len(epochs), "loss": last.get("loss"),
        "in_sample_sharpe": metrics.get("sharpe"), "in_sample_trades": metrics.get("total_trades"),
        "in_sample_max_drawdown": metrics.get("max_drawdown_account"),
    }  # fmt: skip


def _param_diff(before: ParameterSet, after: ParameterSet) -> list[str]:
    def flat(prefix: str, value: Any) -> dict[str, Any]:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                out.update(flat(f"{prefix}.{k}" if prefix else str(k), v))
            return out
        return {prefix: value}

    a = flat("", {"strategy": before.strategy_params, "config": before.config_overlay})
    b = flat("", {"strategy": after.strategy_params, "config": after.config_overlay})
    return [
        f"{k}: {a.get(k, '-')} -> {b.get(k, '-')}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    ]


def _fmt(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "n/a"


def run_weekly(options: WeeklyOptions) -> WeeklyOutcome:
    options.work_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(options.work_dir / "tune.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise TuneLockedError(
            f"another tribar tune run holds {options.work_dir / 'tune.lock'}; "
            "runs never overlap - wait for it or stop it"
        ) from exc
    try:
        return _run_locked(options)
    finally:
        lock.release()


def _run_locked(options: WeeklyOptions) -> WeeklyOutcome:
    config = load_config(options.configs)
    rule = promotion_rule_from_config(config)
    run = _Run(options, config)
    current = current_parameter_set(options.paths) or ParameterSet({}, {})

    design, study = run.study()
    base_id = str(config["freqai"]["identifier"]).split("-tuned-")[0]
    buy = dict(current.strategy_params.get("buy") or {})
    buy.update({"k_tp": design.k_tp, "k_sl": design.k_sl})
    candidate = ParameterSet(
        {**current.strategy_params, "buy": buy}, design_overlay(design, base_id)
    )

    tuned_params, in_sample = run.hyperopt(candidate)
    candidate = ParameterSet(tuned_params, candidate.config_overlay)

    current_oos = run.backtest("current", current)
    candidate_oos = run.backtest("candidate", candidate)
    decision = decide_promotion(current_oos, candidate_oos, rule)
    figures = {
        "window": {
            "tuning": _timerange(run.tune_start, run.holdout_start),
            "held_back": _timerange(run.holdout_start, options.end),
        },
        "study": study, "hyperopt": in_sample,
        "held_back_current": current_oos.__dict__, "held_back_candidate": candidate_oos.__dict__,
    }  # fmt: skip
    entry = HistoryEntry(
        run.stamp, "promoted" if decision.promote else "rejected", decision.reason, figures,
        candidate,
    )  # fmt: skip
    if decision.promote:
        promote(options.paths, entry)
    else:
        record(options.paths, entry)
    diff = _param_diff(current, candidate)
    message = (
        f"tribar tune: {'PROMOTED' if decision.promote else 'not promoted'}\n"
        f"held-back Sharpe {_fmt(current_oos.sharpe)} -> {_fmt(candidate_oos.sharpe)} "
        f"({current_oos.trades} -> {candidate_oos.trades} trades)\n{decision.reason}\n"
        + ("\n".join(diff[:15]) if diff else "no parameter changed")
    )
    from tribar.tuning.notify import reload_running_bot, send_telegram

    send_telegram(config, message)
    if decision.promote and options.reload_bot:
        reload_running_bot(config)
    return WeeklyOutcome(entry, message, figures)
