"""``tribar report``: ledger analytics as terminal tables and a self-contained HTML report.

The ledger is found like every ``tribar`` ledger command (``ledger_url.resolve_ledger_url``):
``--url`` > $TRIBAR_LEDGER_URL > config ``tribar.ledger_url`` > sqlite:///user_data/….
Exit codes: 0 done, 1 the database failed, 2 bad input (arguments, config, URL).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tribar.ml.shap_files import DEFAULT_PLOTS_DIR

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def parse_when(text: str) -> datetime:
    """ISO date or date-time; without an offset it is UTC (the ledger's time zone)."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or date-time: {text!r} (e.g. 2025-03-01 or 2025-03-01T14:00:00Z)"
        ) from exc


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _pairs(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip()) or None


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite ledger file that does not exist (connecting would create an empty
    one as a side effect of a read-only report), else None."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return None if Path(parsed.database).exists() else parsed.database


def _cmd_report(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tribar.analysis.analytics import TradeFilter
    from tribar.analysis.ledger.db import describe_error
    from tribar.analysis.ledger.url import (
        LedgerConfigError,
        load_cli_config,
        resolve_ledger_url,
        safe_url,
    )
    from tribar.analysis.report.build import build_report, render_terminal
    from tribar.analysis.report.html import write_html

    url: str | None = args.url
    try:
        flt = TradeFilter(
            start=args.since,
            end=args.until,
            pairs=_pairs(args.pair),
            strategy=args.strategy,
            dry_run=args.dry_run,
        )
        url = resolve_ledger_url(args.url, load_cli_config(args.config))
        missing = missing_sqlite_file(url)
        if missing is not None:
            print(
                f"tribar report: no ledger database at {missing} (create it with: tribar db "
                "upgrade; or point --url / $TRIBAR_LEDGER_URL / tribar.ledger_url at one)",
                file=sys.stderr,
            )
            return EXIT_FAILED
        engine = sa.create_engine(url)
        try:
            report = build_report(
                engine,
                flt,
                starting_balance=args.starting_balance,
                n_buckets=args.buckets,
                source=safe_url(url),
            )
        finally:
            engine.dispose()
    except (LedgerConfigError, ValueError) as exc:
        print(f"tribar report: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except sa.exc.SQLAlchemyError as exc:
        print(f"tribar report: {describe_error(exc, url)}", file=sys.stderr)
        return EXIT_FAILED

    console = Console()
    render_terminal(report, console)
    if args.html:
        try:
            out = write_html(report, args.html, shap_dir=args.shap_dir)
        except OSError as exc:
            print(f"tribar report: cannot write {args.html}: {exc}", file=sys.stderr)
            return EXIT_FAILED
        console.print(f"HTML report written to {out}", soft_wrap=True, highlight=False)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands (each sets ``func(args) -> int``)."""
    from tribar.analysis.ledger.cli import add_ledger_options

    p = subparsers.add_parser(
        "report",
        help="ledger analytics: terminal tables and an HTML report with charts",
        description="Analytics over the trade ledger (SQLite or PostgreSQL): win rate, pnl, "
        "Sharpe, drawdown, profit factor, best/worst hour and pair, weekday and confidence "
        "tables, slippage and latency percentiles. Times are UTC; trades are selected by close "
        "time in [--since, --until).",
    )
    add_ledger_options(p)
    p.add_argument(
        "--since", type=parse_when, default=None, metavar="WHEN",
        help="only trades closed at or after this ISO date/time (UTC unless an offset is given)",
    )  # fmt: skip
    p.add_argument(
        "--until", type=parse_when, default=None, metavar="WHEN",
        help="only trades closed before this ISO date/time (exclusive)",
    )  # fmt: skip
    p.add_argument(
        "--pair", action="append", default=None, metavar="PAIR",
        help="only this pair; repeat or comma-separate for several (e.g. BTC/USDT,ETH/USDT)",
    )  # fmt: skip
    p.add_argument("--strategy", default=None, help="only this strategy's trades")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", dest="dry_run", action="store_const", const=True, default=None,
        help="only dry-run trades",
    )  # fmt: skip
    mode.add_argument(
        "--live", dest="dry_run", action="store_const", const=False, help="only live trades"
    )
    p.add_argument(
        "--starting-balance", type=positive_float, default=1000.0, metavar="AMOUNT",
        help="account balance at the start of the selection, in the stake currency "
        "(for Sharpe/Sortino and drawdown %%; default 1000)",
    )  # fmt: skip
    p.add_argument(
        "--buckets", type=int, default=10, metavar="N",
        help="model-confidence buckets over [0, 1] (default 10)",
    )  # fmt: skip
    p.add_argument("--html", default=None, metavar="FILE", help="also write an HTML report here")
    p.add_argument(
        "--shap-dir", type=Path, default=DEFAULT_PLOTS_DIR, metavar="DIR",
        help="folder of the SHAP charts `tribar features` saves, shown in the HTML report "
        f"(default {DEFAULT_PLOTS_DIR}/, where it writes them without --plots-dir)",
    )  # fmt: skip
    p.set_defaults(func=_cmd_report)
