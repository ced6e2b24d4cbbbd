"""Benchmark (issue #14 b): all features vs SHAP-selected features, and FreqAI's
``continual_learning`` warm start on vs off, on the standard setup, measured in one run.

Usage (from the repository root)::

    .venv/bin/python bench/bench_lifecycle.py [--datadir user_data/data/binance]
        [--work-dir user_data/backtest_results/bench-lifecycle] [--arms ...] [--reuse]

Every arm is one ``tribar ft backtesting`` walk-forward run of TripleBarrierML with
``config.json``'s FreqAI settings on the standard setup (14 pairs, 1h, 2025-01-01..2025-10-01,
train 90 d, retrain every 30 d, fee 0.1 %, 1000 USDT, 5 open trades), each from an empty model
folder. Arms:

* ``gate-on/all``, ``gate-off/all``: every feature (``selected_features_file`` null), with the
  shipped edge gate and without it (``config/edge-gate-off.json``'s ``edge_gate_z: null``).
* SHAP selection without lookahead: ``tribar features`` on the first window's models of
  ``gate-on/all`` only (trained on the 90 days before the test range; the gate does not change a
  booster, so they are also ``gate-off/all``'s), 80 % of mean |SHAP|, written to
  ``<work-dir>/selected_features.json``; then ``gate-on/selected`` and ``gate-off/selected``.
* ``gate-on/continual``, ``gate-off/continual``: every feature, ``freqai.continual_learning``
  true (each window's booster continues from the pair's previous one).

Per arm: OOS AUC of the served P(take-profit) with the day-bootstrap 95 % interval of
``tribar.evaluate.oos`` (and, for gated arms, of the booster's own calibrated P), daily Sharpe
and mark-to-market max drawdown (``tribar.evaluate.metrics``, as ``tribar evaluate``), trades,
FreqAI's training seconds per pair and window (``tribar_metrics.json``: features, pipeline,
LightGBM, calibration, gate), and model inference time per pair (feature pipeline + booster +
calibrator on one 30-day window of rows and on one row, median of repeats, measured here after
the runs on every saved model).

Wall time on 2 shared cores: 5-13 minutes for the six arms. Disk: each arm's FreqAI model folder
(``user_data/models/tribar-bench-lifecycle-<setup>-<arm>``, with its registry copies and
training rows) takes 75-350 MB, about 1.5 GB in all; delete them after the run if not needed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tribar.evaluate import oos
from tribar.evaluate.data import prepare_for_setup
from tribar.evaluate.metrics import Performance, load_result, performance
from tribar.evaluate.runner import RunRecord, RunSpec, run_backtest
from tribar.evaluate.setup import (
    MODELS_DIR,
    QUICK,
    REPO_ROOT,
    STANDARD,
    USER_DATA,
    RunSetup,
    strategy_config,
)
from tribar.evaluate.specs import STRATEGY, strategy_sources
from tribar.labels import BarrierSpec
from tribar.ml.barrier_classifier import TAKE_PROFIT_GATE_OFF
from tribar.ml.model_metrics import METRICS_FILE

REPO = Path(__file__).resolve().parent.parent
COVERAGE = 0.8  # `tribar features`' default
WINDOW_ROWS = 30 * 24  # one retraining period of 1h candles: what a backtest window predicts
INFERENCE_REPEATS = 5


@dataclass(frozen=True)
class Arm:
    key: str
    gate: bool
    selected: bool = False
    continual: bool = False

    def freqai(self, selection_file: Path) -> dict[str, Any]:
        tribar: dict[str, Any] = {
            "selected_features_file": str(selection_file) if self.selected else None
        }
        if not self.gate:
            tribar["edge_gate_z"] = None
        overrides: dict[str, Any] = {"tribar": tribar}
        if self.continual:
            overrides["continual_learning"] = True
        return overrides


ARMS: tuple[Arm, ...] = (
    Arm("gate-on/all", gate=True),
    Arm("gate-off/all", gate=False),
    Arm("gate-on/continual", gate=True, continual=True),
    Arm("gate-off/continual", gate=False, continual=True),
    Arm("gate-on/selected", gate=True, selected=True),
    Arm("gate-off/selected", gate=False, selected=True),
)
SELECTION_SOURCE = "gate-on/all"


@dataclass(frozen=True)
class Timing:
    train_s: list[float]  # per pair and window
    train_s_by_pair: dict[str, float]  # mean over windows
    infer_window_ms_by_pair: dict[str, float]  # median over windows of the per-window median
    infer_row_ms_by_pair: dict[str, float]
    features: list[int]  # FreqAI feature columns per training (before the pipeline)
    trees: list[int]  # trees the served booster uses (warm-started: the earlier ones included)


@dataclass(frozen=True)
class Outcome:
    arm: Arm
    record: RunRecord
    perf: Performance
    auc: oos.Calibration
    auc_booster: oos.Calibration | None  # gated arms: the booster's calibrated P (tp_gate_off)
    timing: Timing
    gate_passed: tuple[int, int] | None
    warm_started: tuple[int, int] | None  # (trainings continued from an earlier booster, all)
    code_hash: str
    load_before: float
    load_after: float


def identifier(arm: Arm, setup: RunSetup) -> str:
    return f"tribar-bench-lifecycle-{setup.name}-" + arm.key.replace("/", "-")


def code_hash() -> str:
    """What the run's result depends on besides its config (strategy, model, risk code): other
    work edits the same checkout, so a change between arms is shown."""
    digest = hashlib.sha256()
    for path in strategy_sources():
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:8]


def spec_for(arm: Arm, setup: RunSetup, selection_file: Path) -> RunSpec:
    ident = identifier(arm, setup)
    return RunSpec(
        key=f"lifecycle/{arm.key}",
        label=f"{STRATEGY} [{arm.key}]",
        strategy=STRATEGY,
        config=strategy_config(setup, ident, arm.freqai(selection_file)),
        identifier=ident,
        source_files=strategy_sources(),
    )


def first_window_folders(model_dir: Path, pairs: Sequence[str], test_start: datetime) -> list[Path]:
    """Each pair's training folder whose window ends at or before the test range starts: with
    the bundled candles (from 2024-09-14) only the first window's models qualify."""
    limit = int(test_start.timestamp())
    chosen = []
    for pair in pairs:
        coin = pair.split("/")[0]
        folders = [
            f for f in model_dir.glob(f"sub-train-{coin}_*")
            if int(f.name.rsplit("_", 1)[1]) <= limit
        ]  # fmt: skip
        if len(folders) != 1:
            raise RuntimeError(
                f"{model_dir}: expected exactly one {pair} training ending by {test_start:%Y-%m-%d}"
                f", found {sorted(f.name for f in folders)}"
            )
        chosen.append(folders[0])
    return chosen


def select_features(model_dir: Path, setup: RunSetup, work_dir: Path) -> tuple[Path, str]:
    """``tribar features`` (the console command) over the first-window models only, linked into
    a folder of their own; returns the selection file and what the command printed."""
    first = work_dir / "first-window-models"
    if first.exists():
        for link in first.iterdir():
            link.unlink()
    first.mkdir(parents=True, exist_ok=True)
    for folder in first_window_folders(model_dir, setup.pairs, setup.start):
        (first / folder.name).symlink_to(folder.resolve())
    out = work_dir / "selected_features.json"
    command = [
        sys.executable, "-m", "tribar.cli", "features", "--models", str(first),
        "--coverage", str(COVERAGE), "--out", str(out), "--plots-dir", str(work_dir / "shap"),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"tribar features exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return out, done.stdout


def _load(path: Path) -> Any:
    import cloudpickle

    with path.open("rb") as fh:
        return cloudpickle.load(fh)


def _median_ms(call: Any) -> float:
    times = []
    for _ in range(INFERENCE_REPEATS):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def inference_ms(folder: Path) -> tuple[float, float] | None:
    """Feature pipeline + booster + calibrator on ``WINDOW_ROWS`` rows and on one row.

    The raw (pre-pipeline) feature rows are not saved, so the input has the model's feature
    columns filled from its saved training rows: the values do not change the work done (every
    row walks every tree), only the shapes do. Feature engineering is left out: the strategy
    computes every feature whatever the model uses."""
    model = _load(next(folder.glob("*_model.joblib")))
    if getattr(model, "booster", None) is None:
        return None
    pipeline = _load(next(folder.glob("*_feature_pipeline.pkl")))
    metadata = json.loads(next(folder.glob("*_metadata.json")).read_text())
    trained = pd.read_pickle(next(folder.glob("*_trained_df.pkl")))
    columns = list(metadata["training_features_list"])
    rows = trained.tail(WINDOW_ROWS)
    rows = pd.concat([rows] * int(np.ceil(WINDOW_ROWS / len(rows))), ignore_index=True)
    rows = rows.head(WINDOW_ROWS)
    raw = pd.DataFrame({c: rows.get(c, 0.0) for c in columns})

    def infer(frame: pd.DataFrame) -> None:
        features, _, _ = pipeline.transform(frame, outlier_check=True)
        model.calibrated_probability(features)

    one = raw.tail(1).reset_index(drop=True)
    infer(raw)  # warm-up
    return _median_ms(lambda: infer(raw)), _median_ms(lambda: infer(one))


def timing(model_dir: Path, pairs: Sequence[str]) -> Timing:
    coins = {pair.split("/")[0]: pair for pair in pairs}
    train_s: dict[str, list[float]] = {}
    window_ms: dict[str, list[float]] = {}
    row_ms: dict[str, list[float]] = {}
    features: list[int] = []
    trees: list[int] = []
    for folder in sorted(model_dir.glob("sub-train-*")):
        pair = coins.get(folder.name.removeprefix("sub-train-").rsplit("_", 1)[0])
        metrics_file = folder / METRICS_FILE
        if pair is None or not metrics_file.is_file():
            continue
        metrics = json.loads(metrics_file.read_text())
        if "train_seconds" in metrics:
            train_s.setdefault(pair, []).append(float(metrics["train_seconds"]))
        if "best_iteration" in metrics:
            trees.append(int(metrics["best_iteration"]))
        metadata = next(folder.glob("*_metadata.json"), None)
        if metadata is not None:
            features.append(len(json.loads(metadata.read_text())["training_features_list"]))
        measured = inference_ms(folder)
        if measured is not None:
            window_ms.setdefault(pair, []).append(measured[0])
            row_ms.setdefault(pair, []).append(measured[1])
    return Timing(
        train_s=[s for values in train_s.values() for s in values],
        train_s_by_pair={p: statistics.mean(v) for p, v in train_s.items()},
        infer_window_ms_by_pair={p: statistics.median(v) for p, v in window_ms.items()},
        infer_row_ms_by_pair={p: statistics.median(v) for p, v in row_ms.items()},
        features=features,
        trees=trees,
    )


def gate_and_warm_start(model_dir: Path) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    gates, warm = [], []
    for path in sorted(model_dir.glob(f"sub-train-*/{METRICS_FILE}")):
        metrics = json.loads(path.read_text())
        if metrics.get("edge_gate") is not None:
            gates.append(bool(metrics["edge_gate"]["passed"]))
        if "warm_start_trees" in metrics:
            warm.append(int(metrics["warm_start_trees"]) > 0)
    return (
        (sum(gates), len(gates)) if gates else None,
        (sum(warm), len(warm)) if warm else None,
    )


def booster_predictions(model_dir: Path, pairs: Sequence[str]) -> pd.DataFrame:
    """Like ``oos.load_predictions``, with the booster's calibrated P (gate off) as ``p_tp``."""
    frame = oos.load_predictions(model_dir, pairs)
    parts = []
    coins = {pair.split("/")[0].lower(): pair for pair in pairs}
    for path in sorted((model_dir / "backtesting_predictions").glob("*.feather")):
        match = oos.PREDICTION_FILE.match(path.name)
        if match is None or match["coin"] not in coins:
            continue
        saved = pd.read_feather(path)
        parts.append(
            pd.DataFrame(
                {
                    "pair": coins[match["coin"]], "date": saved["date"],
                    "p_tp": pd.to_numeric(saved.get(TAKE_PROFIT_GATE_OFF, np.nan),
                                          errors="coerce"),
                    "trained": int(match["trained"]),
                }
            )
        )  # fmt: skip
    gate_off = pd.concat(parts, ignore_index=True)
    merged = frame.drop(columns="p_tp").merge(gate_off, on=["pair", "date", "trained"])
    return merged[frame.columns]


def barrier(setup: RunSetup, config: Mapping[str, Any]) -> tuple[BarrierSpec, int]:
    from tribar.strategies.TripleBarrierML import TripleBarrierML

    horizon = int(config["freqai"]["feature_parameters"]["label_period_candles"])
    spec = BarrierSpec(
        k_tp=float(TripleBarrierML.k_tp.value), k_sl=float(TripleBarrierML.k_sl.value),
        horizon=horizon, fee=setup.fee,
    )  # fmt: skip
    return spec, int(TripleBarrierML.atr_period.value)


def run_arm(
    arm: Arm, setup: RunSetup, work_dir: Path, datadir: Path, selection_file: Path, reuse: bool,
    labels: dict[object, pd.DataFrame],
) -> Outcome:  # fmt: skip
    spec = spec_for(arm, setup, selection_file)
    load_before = os.getloadavg()[0]
    hash_before = code_hash()
    record = run_backtest(
        spec, setup, work_dir, datadir, reuse=reuse, fresh_models=not reuse
    )  # fmt: skip
    hash_after = code_hash()
    load_after = os.getloadavg()[0]
    model_dir = MODELS_DIR / identifier(arm, setup)
    result = load_result(record.result_path, STRATEGY, setup.start, setup.end)
    key, atr_period = barrier(setup, spec.config)
    if key not in labels:
        labels[key] = oos.realised_labels(datadir, setup.pairs, setup.timeframe, key, atr_period)
    auc = oos.score(oos.load_predictions(model_dir, setup.pairs), labels[key], setup.start,
                    setup.end)  # fmt: skip
    auc_booster = (
        oos.score(booster_predictions(model_dir, setup.pairs), labels[key], setup.start, setup.end)
        if arm.gate
        else None
    )
    gates, warm = gate_and_warm_start(model_dir)
    return Outcome(
        arm=arm,
        record=record,
        perf=performance(result.equity, result.trades, setup.start, setup.end),
        auc=auc,
        auc_booster=auc_booster,
        timing=timing(model_dir, setup.pairs),
        gate_passed=gates,
        warm_started=warm,
        code_hash=hash_before if hash_before == hash_after else f"{hash_before}->{hash_after}",
        load_before=load_before,
        load_after=load_after,
    )


def _ci(c: oos.Calibration) -> str:
    return f"{c.auc:.3f} [{c.auc_ci[0]:.3f}, {c.auc_ci[1]:.3f}]"


def _features(t: Timing) -> str:
    if not t.features:
        return "-"
    low, high = min(t.features), max(t.features)
    return str(low) if low == high else f"{low}-{high}"


def summary_table(outcomes: Sequence[Outcome]) -> list[str]:
    lines = [
        "| arm | features | OOS AUC served P [95 % CI] | OOS AUC booster P [95 % CI] | "
        "Sharpe (daily, ann.) | max DD % (mark-to-market) | return % | trades | gate passed | "
        "warm-started | wall s | code |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        booster = _ci(o.auc_booster) if o.auc_booster is not None else "same as served"
        gate = f"{o.gate_passed[0]}/{o.gate_passed[1]}" if o.gate_passed else "-"
        warm = "-"
        if o.arm.continual and o.warm_started:
            warm = f"{o.warm_started[0]}/{o.warm_started[1]}"
        sharpe = "flat" if o.perf.trades == 0 else f"{o.perf.sharpe:.2f}"
        lines.append(
            f"| {o.arm.key} | {_features(o.timing)} | {_ci(o.auc)} | {booster} | {sharpe} "
            f"| {100 * o.perf.max_drawdown:.2f} | {100 * o.perf.total_return:.2f} "
            f"| {o.perf.trades} | {gate} | {warm} | {o.record.wall_seconds:.0f} | {o.code_hash} |"
        )
    return lines


def _median(values: Any) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def timing_table(outcomes: Sequence[Outcome]) -> list[str]:
    lines = [
        "| arm | trainings | trees per model: median / max | train s per pair-window: median "
        "| mean | total train s "
        "| inference ms / 720 rows: median over pairs | inference ms / 1 row | load 1-min "
        "before / after |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        t = o.timing
        window = _median(t.infer_window_ms_by_pair.values())
        row = _median(t.infer_row_ms_by_pair.values())
        lines.append(
            f"| {o.arm.key} | {len(t.train_s)} "
            f"| {_median(t.trees):.0f} / {max(t.trees, default=0)} "
            f"| {statistics.median(t.train_s):.2f} "
            f"| {statistics.mean(t.train_s):.2f} | {sum(t.train_s):.1f} | {window:.2f} "
            f"| {row:.2f} | {o.load_before:.2f} / {o.load_after:.2f} |"
        )
    return lines


def per_pair_table(outcomes: Sequence[Outcome], pairs: Sequence[str]) -> list[str]:
    header = " | ".join(f"{o.arm.key} train s | {o.arm.key} infer ms/720" for o in outcomes)
    lines = [
        f"| pair | {header} |",
        "|---|" + "---:|" * (2 * len(outcomes)),
    ]
    for pair in pairs:
        cells = []
        for o in outcomes:
            train = o.timing.train_s_by_pair.get(pair)
            infer = o.timing.infer_window_ms_by_pair.get(pair)
            cells.append("-" if train is None else f"{train:.2f}")
            cells.append("-" if infer is None else f"{infer:.2f}")
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return lines


def ratio_lines(outcomes: Sequence[Outcome]) -> list[str]:
    by_key = {o.arm.key: o for o in outcomes}
    lines = []
    for gate in ("gate-on", "gate-off"):
        base = by_key.get(f"{gate}/all")
        for other in ("selected", "continual"):
            arm = by_key.get(f"{gate}/{other}")
            if base is None or arm is None:
                continue
            train = statistics.mean(arm.timing.train_s) / statistics.mean(base.timing.train_s)
            infer_a = statistics.median(arm.timing.infer_window_ms_by_pair.values())
            infer_b = statistics.median(base.timing.infer_window_ms_by_pair.values())
            lines.append(
                f"- {gate}: {other} / all — mean train s {train:.2f}, inference ms "
                f"{infer_a / infer_b:.2f}, wall {arm.record.wall_seconds / base.record.wall_seconds:.2f}; "  # noqa: E501
                f"AUC {arm.auc.auc - base.auc.auc:+.3f}, trades {arm.perf.trades} vs "
                f"{base.perf.trades}"
            )
    return lines


def shown(path: Path) -> str:
    """Relative to the repository when inside it (the report reads the same from any clone)."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datadir", type=Path, default=None,
                        help="candles (default: the bundled user_data/data/binance)")  # fmt: skip
    parser.add_argument(
        "--work-dir", type=Path, default=USER_DATA / "backtest_results" / "bench-lifecycle"
    )
    parser.add_argument("--arms", nargs="+", default=[a.key for a in ARMS],
                        choices=[a.key for a in ARMS])  # fmt: skip
    parser.add_argument(
        "--reuse", action="store_true",
        help="reuse arms already run with the same inputs (their wall time is the recorded one)",
    )  # fmt: skip
    parser.add_argument(
        "--setup", choices=["standard", "quick"], default="standard",
        help="quick: 3 pairs, 2 windows (a smoke run, not the benchmark)",
    )  # fmt: skip
    args = parser.parse_args()

    work_dir = args.work_dir.resolve()
    base = QUICK if args.setup == "quick" else STANDARD
    setup = base.with_datadir(args.datadir.resolve()) if args.datadir else base
    data = prepare_for_setup(setup, work_dir)
    started = datetime.now(UTC)
    wanted = [a for a in ARMS if a.key in args.arms]
    if any(a.selected for a in wanted) and SELECTION_SOURCE not in args.arms:
        wanted.insert(0, next(a for a in ARMS if a.key == SELECTION_SOURCE))
    selection_file = work_dir / "selected_features.json"
    labels: dict[object, pd.DataFrame] = {}
    outcomes: list[Outcome] = []
    features_output = ""
    for arm in wanted:
        if arm.selected and not features_output:
            print("selecting features on the first window's models …", flush=True)
            selection_file, features_output = select_features(
                MODELS_DIR / identifier(ARMS[0], setup), setup, work_dir
            )
            chosen = json.loads(selection_file.read_text())["features"]
            print(f"  {len(chosen)} features -> {shown(selection_file)}", flush=True)
        print(f"{arm.key} … (load {os.getloadavg()[0]:.2f})", flush=True)
        outcomes.append(
            run_arm(arm, setup, work_dir, data.datadir, selection_file, args.reuse, labels)
        )
        o = outcomes[-1]
        print(f"  {o.record.wall_seconds:.0f} s wall, AUC {o.auc.auc:.3f}, "
              f"{o.perf.trades} trades", flush=True)  # fmt: skip

    lines = [
        "# Lifecycle benchmark: SHAP feature selection, continual learning",
        "",
        "Generated by `bench/bench_lifecycle.py`.",
        "",
        f"- started {started:%Y-%m-%d %H:%M} UTC, finished {datetime.now(UTC):%H:%M} UTC",
        f"- machine: {platform.machine()}, {cpu_model()}, {len(os.sched_getaffinity(0))} cores "
        "usable, shared with other jobs (1-min load average before / after each run below)",
        f"- Python {platform.python_version()}",
        f"- setup: {len(setup.pairs)} pairs, {setup.timeframe}, {setup.timerange} (end exclusive), "
        f"fee {100 * setup.fee:.1f} %, config.json FreqAI (train 90 d, retrain every 30 d), "
        f"data `{shown(setup.datadir)}` (derived from 1h: {', '.join(data.derived) or 'none'})",
        f"- selection: `tribar features --coverage {COVERAGE}` on the first window's models of "
        f"`{SELECTION_SOURCE}` (trained before {setup.start:%Y-%m-%d}), file "
        f"`{shown(selection_file)}`",
        "",
        *summary_table(outcomes),
        "",
        *timing_table(outcomes),
        "",
        *ratio_lines(outcomes),
        "",
        "Per pair (train s: mean over windows; inference: median over windows):",
        "",
        *per_pair_table(outcomes, setup.pairs),
        "",
    ]
    if features_output:
        lines += ["`tribar features` output:", "", "```", features_output.rstrip(), "```", ""]
    report = "\n".join(lines)
    print(report)
    (work_dir / "report.md").write_text(report)
    print(f"wrote {work_dir / 'report.md'}")


if __name__ == "__main__":
    main()
