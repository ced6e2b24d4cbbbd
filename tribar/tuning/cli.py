"""``tribar tune study`` (join or start the model-level study) and ``tribar tune trials``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tribar.evaluate.setup import BUNDLED_DATA

DEFAULT_STORAGE_FILE = Path("user_data/tuning/model_study.sqlite")
DEFAULT_STUDY = "tribar-model-study"
DEFAULT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "DOGE/USDT")


def _storage_url(args: argparse.Namespace) -> str:
    if args.storage:
        url: str = args.storage
        return url
    path = Path(args.storage_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def _window(args: argparse.Namespace) -> tuple[str, str]:
    end = (
        datetime.fromisoformat(args.end).replace(tzinfo=UTC)
        if args.end
        else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    start = end - timedelta(days=args.days)
    return start.date().isoformat(), end.date().isoformat()


def _cmd_study(args: argparse.Namespace) -> int:
    from tribar.tuning.model_study import StudySettings, load_candles, run_worker

    start, end = _window(args)
    try:
        candles = load_candles(args.datadir, args.pairs, args.timeframe, start, end)
    except (FileNotFoundError, ValueError) as exc:
        print(f"tribar tune study: {exc}", file=sys.stderr)
        return 2
    settings = StudySettings(
        storage=_storage_url(args), study_name=args.study_name, n_trials=args.trials,
        fee=args.fee, n_folds=args.folds, embargo=args.embargo, seed=args.seed,
        heartbeat_seconds=args.heartbeat_seconds, grace_seconds=args.grace_seconds,
    )  # fmt: skip
    print(
        f"model study {settings.study_name!r}: {len(candles)} pairs, {args.timeframe}, "
        f"{start}..{end}, until {settings.n_trials} finished trials"
    )
    study = run_worker(settings, candles, worker=args.worker_name)
    _print_trials(study)
    return 0


def _cmd_trials(args: argparse.Namespace) -> int:
    import optuna

    try:
        study = optuna.load_study(study_name=args.study_name, storage=_storage_url(args))
    except KeyError:
        print(f"tribar tune trials: no study {args.study_name!r} in the storage", file=sys.stderr)
        return 2
    if args.json:
        from dataclasses import asdict

        from tribar.tuning.model_study import trial_rows

        print(json.dumps([asdict(r) for r in trial_rows(study)], default=str))
        return 0
    _print_trials(study)
    return 0


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _print_trials(study: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from tribar.tuning.model_study import best_design_dsr, trial_rows

    rows = trial_rows(study)
    table = Table(title=f"study {study.study_name}: {len(rows)} trials")
    for name in (
        "#",
        "state",
        "t-stat",
        "OOS AUC",
        "log-loss",
        "trades",
        "net return",
        "trade SR",
        "worker",
    ):
        table.add_column(name)
    ranked = sorted(rows, key=lambda r: r.objective if r.objective is not None else -1e9)
    for r in list(reversed(ranked))[:20]:
        table.add_row(
            str(r.number), r.state, _fmt(r.objective), _fmt(r.auc), _fmt(r.log_loss),
            _fmt(r.n_trades), _fmt(r.net_return), _fmt(r.trade_sharpe), r.worker or "-",
        )  # fmt: skip
    console = Console()
    console.print(table)
    best = best_design_dsr(study)
    if best is not None:
        row, dsr = best
        console.print(
            f"best trial {row.number}: trade t-stat {_fmt(row.objective)}, OOS AUC "
            f"{_fmt(row.auc)}, {row.n_trades} trades, "
            f"deflated Sharpe ratio {_fmt(dsr)} for {sum(r.state == 'COMPLETE' for r in rows)} "
            f"trials; parameters {json.dumps(row.params)}"
        )


def _storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage", default=None,
        help="Optuna RDB storage URL, e.g. postgresql://user@host/db, shared by every worker "
        "(default: sqlite file --storage-file)",
    )  # fmt: skip
    parser.add_argument("--storage-file", default=str(DEFAULT_STORAGE_FILE))
    parser.add_argument("--study-name", default=DEFAULT_STUDY)


def register(subparsers: Any) -> None:
    tune = subparsers.add_parser("tune", help="model-level tuning (Optuna study)")
    tune_sub = tune.add_subparsers(dest="tune_command", required=True)

    study = tune_sub.add_parser(
        "study",
        help="start or join the model-level study and run trials until it has --trials "
        "finished ones (run it on several machines with one --storage to share the work)",
    )
    _storage_arguments(study)
    study.add_argument("--trials", type=int, default=50, help="finished trials the study needs")
    study.add_argument("--days", type=int, default=90, help="candles of the last N days")
    study.add_argument(
        "--end", default=None, help="last day (exclusive), YYYY-MM-DD; default today"
    )
    study.add_argument("--pairs", nargs="+", default=list(DEFAULT_PAIRS))
    study.add_argument("--timeframe", default="1h")
    study.add_argument(
        "--datadir", default=str(BUNDLED_DATA),
        help="feather candles (default: the bundled ones)",
    )  # fmt: skip
    study.add_argument("--fee", type=float, default=0.001, help="fee per side (ratio)")
    study.add_argument("--folds", type=int, default=4, help="walk-forward folds")
    study.add_argument(
        "--embargo", type=int, default=24, help="embargo candles before each test block"
    )
    study.add_argument("--seed", type=int, default=None)
    study.add_argument(
        "--worker-name", default=None, help="recorded on each trial (default host:pid)"
    )
    study.add_argument("--heartbeat-seconds", type=int, default=10)
    study.add_argument("--grace-seconds", type=int, default=30)
    study.set_defaults(func=_cmd_study)

    trials = tune_sub.add_parser("trials", help="list the study's trials and the best design's DSR")
    _storage_arguments(trials)
    trials.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    trials.set_defaults(func=_cmd_trials)
