"""``tribar tune study`` (join or start the model-level study) and ``tribar tune trials``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tribar.evaluate.setup import BUNDLED_DATA, REPO_ROOT

STRATEGY_PARAMS = REPO_ROOT / "strategies" / "TripleBarrierML.json"
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
        timeframe=args.timeframe,
    )  # fmt: skip
    print(
        f"model study {settings.study_name!r}: {len(candles)} pairs, {args.timeframe}, "
        f"{start}..{end}, until {settings.n_trials} finished trials"
    )
    try:
        study = run_worker(settings, candles, worker=args.worker_name)
    except ValueError as exc:
        print(f"tribar tune study: {exc}", file=sys.stderr)
        return 2
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


def _tune_paths(args: argparse.Namespace) -> Any:
    from tribar.tuning.promotion import TunePaths

    tuning = Path(args.tuning_dir)
    return TunePaths(
        strategy_file=Path(args.strategy_file),
        overlay_file=Path(args.overlay_file or tuning / "tuned-config.json"),
        history_dir=tuning / "history",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    import logging

    from tribar.tuning.weekly import TuneLockedError, TuneRunError, WeeklyOptions, run_weekly

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    end = (
        datetime.fromisoformat(args.end).replace(tzinfo=UTC)
        if args.end
        else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    options = WeeklyOptions(
        configs=[Path(c) for c in (args.config or ["config.json"])], paths=_tune_paths(args),
        work_dir=Path(args.tuning_dir) / "runs", end=end, days=args.days,
        holdout_days=args.holdout_days, trials=args.trials, epochs=args.epochs, jobs=args.jobs,
        storage=args.storage, datadir=Path(args.datadir), pairs=args.pairs,
        reload_bot=args.reload,
        seed=args.seed,
    )  # fmt: skip
    try:
        outcome = run_weekly(options)
    except TuneLockedError as exc:
        print(f"tribar tune run: {exc}", file=sys.stderr)
        return 3
    except (TuneRunError, ValueError, FileNotFoundError) as exc:
        print(f"tribar tune run: {exc}", file=sys.stderr)
        return 2
    print(outcome.message)
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from tribar.tuning.promotion import history

    entries = history(_tune_paths(args))
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(e) for e in entries], default=str))
        return 0
    if not entries:
        print("no tune history yet")
    for e in entries:
        print(f"{e.stamp}  {e.action:<9} {e.reason}")
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from tribar.tuning.promotion import rollback

    try:
        entry = rollback(_tune_paths(args), to=args.to)
    except ValueError as exc:
        print(f"tribar tune rollback: {exc}", file=sys.stderr)
        return 2
    print(f"{entry.stamp}: {entry.reason}; reload the bot (/reload_config) to use it")
    return 0


def _path_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tuning-dir", default="user_data/tuning",
        help="history, work folders, lock and tuned-config.json (default user_data/tuning)",
    )  # fmt: skip
    parser.add_argument(
        "--strategy-file", default=str(STRATEGY_PARAMS),
        help="the strategy's parameter file a promotion writes (Freqtrade reads it at start)",
    )  # fmt: skip
    parser.add_argument(
        "--overlay-file", default=None, help="default <tuning-dir>/tuned-config.json"
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

    run = tune_sub.add_parser(
        "run",
        help="the weekly job: model study, hyperopt, validation on a held-back window, promotion",
    )
    run.add_argument("-c", "--config", action="append", default=None, help="config files")
    _path_arguments(run)
    run.add_argument("--storage", default=None, help="Optuna RDB URL for the study")
    run.add_argument("--days", type=int, default=90, help="tuning window (days)")
    run.add_argument("--holdout-days", type=int, default=30, help="held-back most recent days")
    run.add_argument("--end", default=None, help="end of the held-back window, YYYY-MM-DD")
    run.add_argument("--trials", type=int, default=50)
    run.add_argument("--epochs", type=int, default=100, help="hyperopt epochs")
    run.add_argument("-j", "--jobs", type=int, default=-1, help="hyperopt workers (-1: all cores)")
    run.add_argument("--pairs", nargs="+", default=None, help="default: the config's whitelist")
    run.add_argument("--datadir", default=str(BUNDLED_DATA))
    run.add_argument("--seed", type=int, default=None, help="repeatable study and hyperopt")
    run.add_argument(
        "--reload", action="store_true",
        help="after a promotion, ask the running bot to reload_config (REST API)",
    )  # fmt: skip
    run.set_defaults(func=_cmd_run)

    hist = tune_sub.add_parser("history", help="every weekly decision, oldest first")
    _path_arguments(hist)
    hist.add_argument("--json", action="store_true")
    hist.set_defaults(func=_cmd_history)

    back = tune_sub.add_parser("rollback", help="put an earlier promotion back in service")
    _path_arguments(back)
    back.add_argument("--to", default=None, help="history stamp (default: the one before)")
    back.set_defaults(func=_cmd_rollback)

    trials = tune_sub.add_parser("trials", help="list the study's trials and the best design's DSR")
    _storage_arguments(trials)
    trials.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    trials.set_defaults(func=_cmd_trials)
