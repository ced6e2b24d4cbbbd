"""``tribar evaluate``: run the walk-forward evaluation and write ``docs/results.md``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from tribar.evaluate.setup import QUICK, REPO_ROOT, STANDARD, USER_DATA
from tribar.evaluate.variants import QUICK_VARIANTS, VARIANTS, by_name

DEFAULT_REPORT = REPO_ROOT / "docs" / "results.md"


def default_work_dir(setup_name: str) -> Path:
    # Under user_data/backtest_results: git-ignored, and where Freqtrade users look for results.
    return USER_DATA / "backtest_results" / "evaluate" / setup_name


def command_line(args: argparse.Namespace) -> str:
    """The command as the report quotes it, rebuilt from the parsed options."""
    words = ["tribar", "evaluate"]
    if args.quick:
        words.append("--quick")
    for option in ("out", "work_dir", "datadir", "model_study"):
        if getattr(args, option, None):
            words += [f"--{option.replace('_', '-')}", getattr(args, option)]
    if getattr(args, "model_study", None):
        words += ["--model-study-name", args.model_study_name]
    if args.variants:
        words += ["--variants", *args.variants]
    words += [flag for flag in ("--rerun", "--fresh") if getattr(args, flag[2:])]
    return " ".join(map(shlex.quote, words))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from tribar.evaluate.evaluation import run_evaluation
    from tribar.evaluate.report import render
    from tribar.evaluate.runner import BacktestError

    setup = QUICK if args.quick else STANDARD
    if args.datadir:
        setup = setup.with_datadir(Path(args.datadir).resolve())
    if not setup.datadir.is_dir():
        print(f"tribar evaluate: data directory {setup.datadir} not found", file=sys.stderr)
        return 2
    names = args.variants or (QUICK_VARIANTS if args.quick else [v.name for v in VARIANTS])
    try:
        variants = by_name(names)
    except ValueError as exc:
        print(f"tribar evaluate: {exc}", file=sys.stderr)
        return 2
    work_dir = Path(args.work_dir).resolve() if args.work_dir else default_work_dir(setup.name)
    out = Path(args.out) if args.out else (
        DEFAULT_REPORT if setup.name == STANDARD.name else work_dir / "results.md"
    )  # fmt: skip

    def progress(message: str) -> None:
        print(f"tribar evaluate: {message}", flush=True)

    try:
        evaluation = run_evaluation(
            setup, variants, work_dir, reuse=not args.rerun, fresh_models=args.fresh,
            progress=progress,
        )  # fmt: skip
    except BacktestError as exc:
        print(f"tribar evaluate: {exc}", file=sys.stderr)
        return 1
    study = None
    if args.model_study:
        from tribar.evaluate.report import relative_to_repository
        from tribar.evaluate.study_report import StudyReportError, summarise_study

        progress(f"scoring the shipped design as model study {args.model_study_name!r} did …")
        storage = Path(args.model_study).resolve()
        try:
            study = summarise_study(
                storage, args.model_study_name, setup.datadir, relative_to_repository(storage)
            )
        except (StudyReportError, FileNotFoundError, ValueError) as exc:
            print(f"tribar evaluate: --model-study: {exc}", file=sys.stderr)
            return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(evaluation, command_line(args), study))
    progress(f"wrote {out}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true",
        help=f"small setup for tests: {len(QUICK.pairs)} bundled pairs, {QUICK.timerange}, "
        f"variants {', '.join(QUICK_VARIANTS)}",
    )  # fmt: skip
    parser.add_argument("--out", help="report file (default: docs/results.md; --quick: work dir)")
    parser.add_argument(
        "--work-dir", help="configs, logs and results of the runs "
        "(default: user_data/backtest_results/evaluate/<setup>)",
    )  # fmt: skip
    parser.add_argument("--datadir", help="candles (default: the setup's data directory)")
    parser.add_argument(
        "--variants", nargs="+", metavar="NAME",
        help=f"strategy variants to run (default: all: {', '.join(v.name for v in VARIANTS)})",
    )  # fmt: skip
    parser.add_argument(
        "--model-study", metavar="FILE",
        help="SQLite storage of a `tribar tune study` run on this setup: the report gains its "
        "best design next to the shipped one (docs/tuning.md)",
    )  # fmt: skip
    parser.add_argument(
        "--model-study-name", default="standard", metavar="NAME",
        help="the study's name in --model-study (default: standard)",
    )  # fmt: skip
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="rerun every backtest, even one whose inputs match a recorded run",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="delete the runs' FreqAI models first, so every window is retrained (implies --rerun)",
    )


def register(subparsers: Any) -> None:
    """Add ``tribar evaluate`` to the ``tribar`` command's subparsers."""
    parser = subparsers.add_parser(
        "evaluate",
        help="walk-forward backtests of the strategy and its baselines on the standard setup; "
        "writes docs/results.md",
        description=__doc__,
    )
    add_arguments(parser)
    parser.set_defaults(func=_cmd_evaluate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tribar evaluate", description=__doc__)
    add_arguments(parser)
    return _cmd_evaluate(parser.parse_args(argv))
