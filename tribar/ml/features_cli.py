"""``tribar features``: SHAP importance over the trained models FreqAI saved, and the smallest
feature set covering a share of it (written for the model to honour; docs/features.md)."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from tribar.ml.shap_files import BAR_PNG, BEESWARM_PNG, DEFAULT_OUT
from tribar.ml.shap_importance import (
    SelectedFeatures,
    covering_set,
    generic_feature_name,
    mean_abs_shap,
    pooled_importance,
    positive_class_shap,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedTraining:
    """One FreqAI training folder (``sub-train-<COIN>_<end>``) with a booster in it."""

    folder: Path
    pair: str
    booster: Any
    features: pd.DataFrame  # the transformed training rows the booster was fitted on


def load_trainings(models_dir: Path) -> tuple[list[SavedTraining], list[str]]:
    """Every trained window under ``models_dir``; the second list says which were skipped, why."""
    import cloudpickle

    if not models_dir.is_dir():
        raise ValueError(
            f"models folder {models_dir} does not exist; expected FreqAI's "
            "user_data/models/<identifier> after a backtest or a live training"
        )
    found: list[SavedTraining] = []
    skipped: list[str] = []
    for folder in sorted(models_dir.glob("sub-train-*")):
        models = sorted(folder.glob("*_model.joblib"))
        frames = sorted(folder.glob("*_trained_df.pkl"))
        metrics_file = folder / "tribar_metrics.json"
        if not models or not frames or not metrics_file.is_file():
            skipped.append(f"{folder.name}: no model, training rows or tribar_metrics.json")
            continue
        try:
            pair = str(json.loads(metrics_file.read_text())["pair"])
            with models[0].open("rb") as fh:
                model = cloudpickle.load(fh)
            features = pd.read_pickle(frames[0])
        except Exception as exc:  # a corrupt file must not stop the others being read
            skipped.append(f"{folder.name}: unreadable ({type(exc).__name__}: {exc})")
            continue
        booster = getattr(model, "booster", None)
        if booster is None:
            skipped.append(f"{folder.name}: untrained window")
            continue
        found.append(SavedTraining(folder, pair, booster, features))
    return found, skipped


def training_shap(
    training: SavedTraining, max_rows: int, seed: int = 0
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Mean |SHAP| per generic feature name, and the sampled rows' SHAP and feature values."""
    import shap

    rows = training.features
    if len(rows) > max_rows:
        rows = rows.sample(max_rows, random_state=seed).sort_index()
    values = positive_class_shap(shap.TreeExplainer(training.booster).shap_values(rows))
    names = [generic_feature_name(c, training.pair) for c in rows.columns]
    return (
        mean_abs_shap(values, names),
        pd.DataFrame(values, columns=names),
        pd.DataFrame(rows.to_numpy(), columns=names),
    )


def write_plots(
    importance: pd.Series, shap_rows: pd.DataFrame, value_rows: pd.DataFrame, out_dir: Path,
    top: int = 25,
) -> tuple[Path, Path]:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    out_dir.mkdir(parents=True, exist_ok=True)
    bar = out_dir / BAR_PNG
    head = importance.head(top)[::-1]
    fig, ax = plt.subplots(figsize=(9, max(3.0, 0.3 * len(head) + 1)))
    ax.barh(list(head.index), head.to_numpy())
    ax.set_xlabel("mean |SHAP| (log-odds of take-profit), over trainings")
    ax.set_title(f"Top {len(head)} features")
    fig.tight_layout()
    fig.savefig(bar, dpi=110)
    plt.close(fig)
    beeswarm = out_dir / BEESWARM_PNG
    columns = [c for c in importance.head(top).index if c in shap_rows.columns]
    shap.summary_plot(
        shap_rows[columns].fillna(0.0).to_numpy(), value_rows[columns].to_numpy(),
        feature_names=columns, show=False, max_display=top,
    )  # fmt: skip
    plt.gcf().set_size_inches(10, max(4.0, 0.35 * len(columns) + 1.5))
    plt.tight_layout()
    plt.savefig(beeswarm, dpi=110)
    plt.close("all")
    return bar, beeswarm


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_features(args: argparse.Namespace) -> int:
    console = Console()
    try:
        if not 0.0 < args.coverage <= 1.0:
            raise ValueError(f"--coverage must be in (0, 1] (0.8 = 80 %), got {args.coverage}")
        trainings, skipped = load_trainings(args.models)
        if not trainings:
            raise ValueError(
                f"no trained model under {args.models} ({len(skipped)} folders skipped); "
                "run a backtest first (FreqAI saves its models there)"
            )
    except ValueError as exc:
        console.print(f"[red]tribar features: {exc}[/red]")
        return 2
    per_training, shap_parts, value_parts = [], [], []
    for training in trainings:
        importance, shap_rows, value_rows = training_shap(training, args.max_rows)
        per_training.append(importance)
        shap_parts.append(shap_rows)
        value_parts.append(value_rows)
    pooled = pooled_importance(per_training)
    selected = covering_set(pooled, args.coverage)
    if not selected:
        console.print("[yellow]every booster has zero importance (no split): nothing selected, "
                      "no file written[/yellow]")  # fmt: skip
        return 1
    source = _relative(args.models)
    result = SelectedFeatures(tuple(selected), args.coverage, len(trainings), source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(result.to_json() + "\n")
    plots_dir = args.plots_dir or args.out.parent
    shap_all = pd.concat(shap_parts, ignore_index=True)
    values_all = pd.concat(value_parts, ignore_index=True)
    bar, beeswarm = write_plots(pooled, shap_all, values_all, plots_dir)
    pooled.rename("mean_abs_shap").to_csv(plots_dir / "shap_importance.csv", header=True)

    table = Table(title=f"SHAP importance over {len(trainings)} trainings")
    table.add_column("feature")
    table.add_column("mean |SHAP|", justify="right")
    table.add_column("cumulative share", justify="right")
    shares = pooled.cumsum() / float(pooled.sum())
    for name in pooled.index[: max(len(selected), 10)]:
        mark = "" if name in selected else " (not selected)"
        table.add_row(name + mark, f"{pooled[name]:.5f}", f"{shares[name]:.1%}")
    console.print(table)
    for reason in skipped:
        console.print(f"skipped {reason}")
    console.print(
        f"{len(selected)} of {len(pooled)} features cover {args.coverage:.0%} of the importance "
        f"-> {_relative(args.out)}\nplots: {_relative(bar)}, {_relative(beeswarm)}"
    )
    zero = int(np.sum(pooled.to_numpy() == 0.0))
    if zero:
        console.print(f"{zero} features were never used by any booster")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "features", help="SHAP feature importance of the trained models; select features"
    )
    parser.add_argument(
        "--models", type=Path, required=True,
        help="FreqAI's models folder of one identifier, e.g. user_data/models/tribar-tb-v2",
    )  # fmt: skip
    parser.add_argument("--coverage", type=float, default=0.8,
                        help="share of the total importance to keep (default 0.8)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"selected-features file (default {DEFAULT_OUT})")  # fmt: skip
    parser.add_argument("--plots-dir", type=Path, default=None,
                        help="where the PNGs and the CSV go (default: beside --out)")  # fmt: skip
    parser.add_argument("--max-rows", type=int, default=2000,
                        help="training rows sampled per model for SHAP (default 2000)")  # fmt: skip
    parser.set_defaults(func=_cmd_features)
