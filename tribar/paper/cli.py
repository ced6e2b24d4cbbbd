"""``tribar paper …``: replay-driven paper trading and its reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from freqtrade.exceptions import OperationalException

from tribar.paper.errors import ReplayError


def register(sub: Any) -> None:
    paper = sub.add_parser(
        "paper",
        help="paper trading: replay history through a real `freqtrade trade` dry-run, reports",
        description="Run a real Freqtrade dry-run bot on historical candles with a simulated "
        "clock (--replay), or report on a paper-trading run.",
    )
    paper.add_argument(
        "--replay", metavar="FROM..TO", help="replay this range, e.g. 20250601..20250615 (UTC)"
    )
    paper.add_argument(
        "-c", "--config", action="append", default=None,
        help="Freqtrade config file(s), later ones win (default: config.json)",
    )  # fmt: skip
    paper.add_argument(
        "--speed", type=float, default=None,
        help="simulated seconds per wall second (default: as fast as the bot runs)",
    )  # fmt: skip
    paper.add_argument(
        "--step", type=int, default=None, metavar="SECONDS",
        help="simulated seconds between bot loops within a candle (default 300)",
    )  # fmt: skip
    paper.add_argument("--run-dir", type=Path, default=None, help="folder of this run")
    paper.add_argument("--datadir", type=Path, default=None, help="candle files to replay")
    paper.add_argument("--markets", default=None, help="markets snapshot file")
    paper.add_argument("--strategy", default=None)
    paper.add_argument("--strategy-path", default=None)
    paper.add_argument("--freqaimodel-path", default=None)
    paper.add_argument(
        "--hold", action="store_true",
        help="at the end of the range keep the bot (REST API, Telegram, FreqUI) running on a "
        "stopped clock until interrupted",
    )  # fmt: skip
    paper.add_argument(
        "--resume", action="store_true",
        help="keep an earlier replay's --run-dir (trades database, models, log) and continue "
        "on it from FROM, as a restarted bot would (default: start the folder afresh)",
    )  # fmt: skip
    paper.set_defaults(func=_cmd_paper)

    actions = paper.add_subparsers(dest="paper_command")
    report = actions.add_parser(
        "report",
        help="acceptance report (GO / NO-GO) of a paper-trading run: a replay or a dry-run",
        description="Judge a paper-trading run against the acceptance criteria, from the "
        "bot's trades database, the ledger, its heartbeats and FreqAI's models.",
    )
    _run_selection(report)
    report.add_argument("--html", type=Path, default=None, help="also write this HTML page")
    report.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    report.add_argument("--min-trades", type=int, default=None)
    report.add_argument("--min-days", type=float, default=None)
    report.set_defaults(func=_cmd_report)

    parity = actions.add_parser(
        "parity",
        help="backtest a replay's strategy, config and period and compare it trade by trade",
    )
    parity.add_argument("--run-dir", type=Path, required=True, help="the replay's folder")
    parity.add_argument("--tolerance-bps", type=float, default=25.0,
                        help="entry/exit price deviation still counted as matching")  # fmt: skip
    parity.add_argument("--profit-tolerance", type=float, default=0.5,
                        help="profit deviation (stake currency) counted as matching")  # fmt: skip
    parity.add_argument("--json", type=Path, default=None, help="also write the matches as JSON")
    parity.set_defaults(func=_cmd_parity)


def _cmd_parity(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tribar.paper.parity_run import parity, print_parity

    try:
        matches, summary = parity(args.run_dir, args.tolerance_bps, args.profit_tolerance)
    except (ReplayError, ValueError, FileNotFoundError, OperationalException) as exc:
        print(f"tribar paper parity: {exc}", file=sys.stderr)
        return 2
    print_parity(matches, summary)
    if args.json:
        import json

        doc = {"summary": asdict(summary), "matches": [asdict(m) for m in matches]}
        args.json.write_text(json.dumps(doc, indent=2, default=str))
        print(f"JSON: {args.json}")
    return 0


def _run_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="a replay's folder (tribar paper --replay)"
    )
    parser.add_argument(
        "-c", "--config", action="append", default=None,
        help="the bot's config file(s) (default: config.json)",
    )  # fmt: skip


def _cmd_report(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from tribar.paper.acceptance import AcceptanceThresholds
    from tribar.paper.report import (
        PaperRun,
        acceptance_report,
        load_paper_config,
        load_trades,
        print_report,
        result_as_dict,
        write_html,
    )

    try:
        config = load_paper_config(args.config, args.run_dir)
        section = dict((config.get("tribar") or {}).get("paper_acceptance") or {})
        if args.min_trades is not None:
            section["min_trades"] = args.min_trades
        if args.min_days is not None:
            section["min_days"] = args.min_days
        try:
            thresholds = AcceptanceThresholds(**section)
        except ValidationError as exc:
            raise ReplayError(f"config section tribar.paper_acceptance: {exc}") from None
        run = PaperRun.from_config(config)
        result = acceptance_report(run, thresholds)
    except (ReplayError, ValueError, OperationalException) as exc:
        print(f"tribar paper report: {exc}", file=sys.stderr)
        return 2
    print_report(result)
    if args.html:
        page = write_html(result, load_trades(run.db_url), run.starting_balance, args.html)
        print(f"HTML report: {page}")
    if args.json:
        import json

        args.json.write_text(json.dumps(result_as_dict(result), indent=2))
        print(f"JSON figures: {args.json}")
    return 0


def _cmd_paper(args: argparse.Namespace) -> int:
    if not args.replay:
        print("tribar paper: give --replay FROM..TO (see tribar paper --help)", file=sys.stderr)
        return 2
    from tribar.paper.progress import ReplayProgress
    from tribar.paper.replay import (
        DEFAULT_STEP_SECONDS,
        ReplayOptions,
        default_run_dir,
        parse_replay_range,
        run_replay,
    )
    from tribar.paper.summary import print_replay_summary

    try:
        start, end = parse_replay_range(args.replay)
        extra: list[str] = []
        if args.strategy_path:
            extra += ["--strategy-path", args.strategy_path]
        if args.freqaimodel_path:
            extra += ["--freqaimodel-path", args.freqaimodel_path]
        options = ReplayOptions(
            start=start,
            end=end,
            configs=args.config or ["config.json"],
            run_dir=args.run_dir or default_run_dir(start, end),
            datadir=args.datadir,
            markets_file=args.markets,
            speed=args.speed,
            step_seconds=args.step or DEFAULT_STEP_SECONDS,
            hold=args.hold,
            strategy=args.strategy,
            fresh=not args.resume,
            extra_args=extra,
        )
        with ReplayProgress(start, end) as progress:
            options.on_step = progress.update
            result = run_replay(options)
    except (ReplayError, ValueError, OperationalException) as exc:
        print(f"tribar paper: {exc}", file=sys.stderr)
        return 2
    print_replay_summary(result)
    return result.exit_code
