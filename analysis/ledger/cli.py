"""``tribar db …`` (ledger migrations) and ``tribar ledger …`` (import, status, flush, query).

Every command finds the ledger the same way (``ledger_url.resolve_ledger_url``): ``--url`` >
$TRIBAR_LEDGER_URL > ``tribar.ledger_url`` of the ``-c`` config (default ``config.json``) >
``sqlite:///user_data/tribar_ledger.sqlite``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tribar.analysis.ledger.trade_rows import exit_reason_overrides
from tribar.analysis.ledger.url import (
    LedgerConfigError,
    load_cli_config,
    resolve_ledger_url,
    resolve_outbox_path,
    safe_url,
    tribar_setting,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def add_ledger_options(p: argparse.ArgumentParser) -> None:
    """``--url`` and ``-c``: how every ledger command finds its database."""
    p.add_argument(
        "--url",
        default=None,
        help="ledger database URL (default: $TRIBAR_LEDGER_URL, tribar.ledger_url of the "
        "config, else sqlite:///user_data/tribar_ledger.sqlite)",
    )
    p.add_argument(
        "-c",
        "--config",
        action="append",
        default=None,
        metavar="PATH",
        help="Freqtrade config file(s) (default: config.json if present)",
    )


def _context(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    config = load_cli_config(args.config)
    return config, resolve_ledger_url(args.url, config)


def _fail(command: str, exc: BaseException, code: int) -> int:
    print(f"tribar {command}: {exc}", file=sys.stderr)
    return code


def _guarded(command: str, args: argparse.Namespace, body: Any) -> int:
    """Run ``body(args)``: bad input -> exit 2, database trouble -> exit 1, with one clear line."""
    from alembic.util import CommandError

    from tribar.analysis.ledger.importers import ImportSourceError
    from tribar.analysis.ledger.outbox import OutboxError

    try:
        code: int = body(args)
        return code
    except (LedgerConfigError, ImportSourceError, OutboxError, CommandError, ValueError) as exc:
        # CommandError: Alembic's "can't locate revision 'x'" and the like.
        return _fail(command, exc, EXIT_BAD_INPUT)
    except sa.exc.SQLAlchemyError as exc:
        from tribar.analysis.ledger.db import describe_error

        return _fail(
            command, RuntimeError(describe_error(exc, getattr(args, "url", None))), EXIT_FAILED
        )


# --- tribar db ---------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger import migrate as ledger_migrate

    _, url = _context(args)
    rev = ledger_migrate.upgrade(url, args.revision)
    print(f"ledger {safe_url(url)} is at revision {rev}")
    return EXIT_OK


def _db_downgrade(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger import migrate as ledger_migrate

    _, url = _context(args)
    rev = ledger_migrate.downgrade(url, args.revision)
    print(f"ledger {safe_url(url)} is at revision {rev or 'base (no ledger tables)'}")
    return EXIT_OK


def _db_current(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger import migrate as ledger_migrate

    _, url = _context(args)
    rev = ledger_migrate.current_revision(url)
    head = ledger_migrate.head_revision()
    state = "up to date" if rev == head else f"head is {head}: run tribar db upgrade"
    print(f"ledger {safe_url(url)}: revision {rev or 'none (not migrated)'} ({state})")
    return EXIT_OK


# --- tribar ledger -----------------------------------------------------------------------------


def _ready_ledger(url: str) -> sa.Engine:
    """An engine on a ledger at the head revision (an embedded SQLite ledger is created)."""
    from tribar.analysis.ledger import migrate as ledger_migrate
    from tribar.analysis.ledger.db import create_ledger_engine

    rev = ledger_migrate.current_revision(url)
    head = ledger_migrate.head_revision()
    if rev != head:
        if sa.engine.make_url(url).get_backend_name() == "sqlite":
            ledger_migrate.upgrade(url)
        else:
            raise LedgerConfigError(
                f"ledger {safe_url(url)} is at revision {rev or 'none'}, expected {head}; "
                f"run: tribar db upgrade --url '{safe_url(url)}'"
            )
    return create_ledger_engine(url)


def _known_pairs(path: str | None) -> frozenset[str] | None:
    if path is None:
        return None
    from tribar.markets import MarketsSnapshotError, load_snapshot

    try:
        return frozenset(load_snapshot(path).markets)
    except MarketsSnapshotError as exc:
        raise LedgerConfigError(str(exc)) from exc


def _ledger_import(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.importers import import_backtest, import_trades_db

    config, url = _context(args)
    pairs = _known_pairs(args.markets)
    reasons = exit_reason_overrides(
        tribar_setting(config, "ledger_exit_reasons"), "config key tribar.ledger_exit_reasons"
    )
    engine = _ready_ledger(url)
    try:
        if args.from_db:
            dry_run = {"dry-run": True, "live": False}.get(args.mode or "")
            summaries = [
                import_trades_db(
                    engine,
                    args.from_db,
                    replace=args.replace,
                    dry_run=dry_run,
                    bot_name=args.bot_name or config.get("bot_name") or None,
                    strategy=args.strategy,
                    strategy_version=args.strategy_version,
                    known_pairs=pairs,
                    exit_reasons=reasons,
                )
            ]
        else:
            summaries = import_backtest(
                engine,
                args.from_backtest,
                replace=args.replace,
                strategy=args.strategy,
                known_pairs=pairs,
                exit_reasons=reasons,
            )
    finally:
        engine.dispose()
    for s in summaries:
        print(s.line())
    print(f"into {safe_url(url)}")
    return EXIT_OK


def _ledger_status(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.db import create_ledger_engine
    from tribar.analysis.ledger.outbox import Outbox

    config, url = _context(args)
    outbox_path = resolve_outbox_path(config)
    print(f"ledger: {safe_url(url)}")
    engine = create_ledger_engine(url)
    try:
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT COUNT(*) FROM trades")).scalar_one()
            d = conn.execute(sa.text("SELECT COUNT(*) FROM trade_dead_letters")).scalar_one()
            e = conn.execute(sa.text("SELECT COUNT(*) FROM entry_decisions")).scalar_one()
        print(f"  trades: {n}, dead letters: {d}, refused/resized entry decisions: {e}")
    except sa.exc.SQLAlchemyError as exc:
        from tribar.analysis.ledger.db import describe_error

        print(f"  unreachable or not migrated: {describe_error(exc, url)}")
    finally:
        engine.dispose()
    if outbox_path.exists():
        box = Outbox(outbox_path)
        try:
            print(
                f"outbox: {outbox_path}: {box.count('row')} row(s) and {box.count('dead')} "
                f"dead letter(s) waiting for the ledger, {box.count('decision')} entry "
                "decision(s)"
            )
            oldest = box.oldest(1)
            if oldest and oldest[0].last_error:
                print(f"  last error: {oldest[0].last_error} ({oldest[0].attempts} attempt(s))")
        finally:
            box.close()
    else:
        print(f"outbox: {outbox_path} (none yet)")
    return EXIT_OK


def _ledger_flush(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.mirror import TradeMirror, context_from_config

    config, url = _context(args)
    mirror = TradeMirror(
        url,
        resolve_outbox_path(config),
        context_from_config(config),
        max_backoff=max(1.0, args.timeout / 4),
    )
    done = mirror.flush(timeout=args.timeout)
    left = mirror.pending()
    mirror.close(timeout=0)
    if done:
        print(f"outbox delivered to {safe_url(url)}")
        return EXIT_OK
    reason = mirror.stats.last_error or "still delivering"
    print(
        f"tribar ledger flush: {left} entr(y/ies) still queued after {args.timeout:.0f}s "
        f"({reason}); they stay in {mirror.outbox.path}",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _ledger_query(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.db import create_ledger_engine
    from tribar.analysis.ledger.queries import run_example_query

    _, url = _context(args)
    engine = create_ledger_engine(url)
    try:
        with engine.connect() as conn:
            columns, rows = run_example_query(conn, args.name)
    finally:
        engine.dispose()
    print("\t".join(columns))
    for row in rows:
        print(
            "\t".join(
                "" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in row
            )
        )
    return EXIT_OK


def _parse_since(text: str | None) -> Any:
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"--since: expected an ISO date or time like 2025-06-01 or 2025-06-01T12:00, "
            f"got {text!r}"
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _ledger_decisions(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.schema import entry_decisions as d

    _, url = _context(args)
    where = []
    if args.pair:
        where.append(d.c.symbol == args.pair)
    if args.reason:
        where.append(d.c.code == args.reason)
    if args.outcome is not None:
        where.append(d.c.allowed.is_(args.outcome == "resized"))
    since = _parse_since(args.since)
    if since is not None:
        where.append(d.c.decided_at >= since)
    if args.bot_name:
        where.append(d.c.bot_name == args.bot_name)
    outcome = sa.case((d.c.allowed, "resized"), else_="refused")
    n = sa.func.count()
    summary = (
        sa.select(
            outcome.label("outcome"),
            d.c.code,
            d.c.symbol,
            n.label("n"),
            sa.func.min(d.c.decided_at).label("first"),
            sa.func.max(d.c.decided_at).label("last"),
        )
        .where(*where)
        .group_by(outcome, d.c.code, d.c.symbol)
        .order_by(n.desc(), d.c.code, d.c.symbol)
    )
    latest = (
        sa.select(
            d.c.decided_at,
            d.c.symbol,
            outcome.label("outcome"),
            d.c.code,
            d.c.stake,
            d.c.proposed_stake,
            d.c.probability,
            d.c.reason,
        )
        .where(*where)
        .order_by(d.c.decided_at.desc(), d.c.id.desc())
        .limit(args.rows)
    )
    engine = _ready_ledger(url)
    try:
        with engine.connect() as conn:
            groups = conn.execute(summary).all()
            rows = conn.execute(latest).all() if args.rows > 0 else []
    finally:
        engine.dispose()

    def when(value: Any) -> str:
        return "" if value is None else str(value)[:19]

    if not groups:
        print(f"no refused or resized entries in {safe_url(url)} for this selection")
        return EXIT_OK
    print("outcome\treason\tpair\tsignals\tfirst\tlast")
    for g in groups:
        print(f"{g.outcome}\t{g.code}\t{g.symbol}\t{g.n}\t{when(g.first)}\t{when(g.last)}")
    if rows:
        print()
        print("decided_at\tpair\toutcome\treason\tstake\tproposed\tp\tmessage")
        for r in rows:
            p = "" if r.probability is None else f"{r.probability:.4f}"
            proposed = "" if r.proposed_stake is None else f"{float(r.proposed_stake):.4f}"
            print(f"{when(r.decided_at)}\t{r.symbol}\t{r.outcome}\t{r.code}\t"
                  f"{float(r.stake):.4f}\t{proposed}\t{p}\t{r.reason}")  # fmt: skip
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands (each sets ``func(args) -> int``)."""
    from tribar.analysis.ledger.queries import EXAMPLE_QUERIES

    db = subparsers.add_parser("db", help="trade ledger database migrations (Alembic)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="create/upgrade the ledger tables")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    add_ledger_options(up)
    up.set_defaults(func=lambda a: _guarded("db upgrade", a, _db_upgrade))
    down = db_sub.add_parser("downgrade", help="migrate the ledger down ('base' drops it)")
    down.add_argument("revision", help="target revision, e.g. base or -1")
    add_ledger_options(down)
    down.set_defaults(func=lambda a: _guarded("db downgrade", a, _db_downgrade))
    cur = db_sub.add_parser("current", help="show the ledger's migration revision")
    add_ledger_options(cur)
    cur.set_defaults(func=lambda a: _guarded("db current", a, _db_current))

    ledger = subparsers.add_parser("ledger", help="trade ledger: import, status, flush, queries")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    imp = ledger_sub.add_parser(
        "import", help="import closed trades from a Freqtrade trades DB or backtest result"
    )
    src = imp.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--from-db",
        metavar="DB_URL",
        help="Freqtrade trades DB, e.g. sqlite:///user_data/tradesv3.sqlite",
    )
    src.add_argument(
        "--from-backtest",
        metavar="PATH",
        help="backtest result (.zip or .json), or a directory (its latest result)",
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="overwrite rows already in the ledger (default: keep them)",
    )
    imp.add_argument("--strategy", default=None, help="only this strategy's trades")
    imp.add_argument(
        "--markets",
        default=None,
        metavar="FILE",
        help="markets snapshot; trades on pairs not in it become dead letters",
    )
    mode = imp.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        dest="mode",
        action="store_const",
        const="dry-run",
        help="--from-db trades are dry-run (default: tell by Freqtrade order ids)",
    )
    mode.add_argument(
        "--live", dest="mode", action="store_const", const="live", help="--from-db trades are live"
    )
    imp.add_argument("--bot-name", default=None, help="bot_name for --from-db rows")
    imp.add_argument("--strategy-version", default=None, help="strategy_version for rows")
    add_ledger_options(imp)
    imp.set_defaults(func=lambda a: _guarded("ledger import", a, _ledger_import))

    status = ledger_sub.add_parser("status", help="ledger row counts and the outbox backlog")
    add_ledger_options(status)
    status.set_defaults(func=lambda a: _guarded("ledger status", a, _ledger_status))

    flush = ledger_sub.add_parser(
        "flush", help="deliver the mirror's outbox now (e.g. after the bot stopped)"
    )
    flush.add_argument("--timeout", type=float, default=60.0, help="seconds to try (default 60)")
    add_ledger_options(flush)
    flush.set_defaults(func=lambda a: _guarded("ledger flush", a, _ledger_flush))

    from tribar.risk.decision import DECISION_ORDER

    decisions = ledger_sub.add_parser(
        "decisions",
        help="entries the risk layer refused or resized, by reason and pair",
        description="One line per outcome, reason and pair: how many signal candles were "
        "refused (or resized) for it, first and last time; then the latest decisions with "
        "their messages. Counts are signal candles, not bot loops (docs/ledger.md).",
    )
    decisions.add_argument("--pair", default=None, help="only this pair, e.g. BTC/USDT")
    decisions.add_argument(
        "--reason", default=None, choices=DECISION_ORDER, help="only this refusing step or cap"
    )
    kind = decisions.add_mutually_exclusive_group()
    kind.add_argument("--refused", dest="outcome", action="store_const", const="refused",
                      help="only refusals")  # fmt: skip
    kind.add_argument("--resized", dest="outcome", action="store_const", const="resized",
                      help="only resized stakes")  # fmt: skip
    decisions.add_argument("--since", default=None, help="decided at or after (ISO, UTC)")
    decisions.add_argument("--bot-name", default=None, help="only this bot_name")
    decisions.add_argument(
        "--rows", type=int, default=20, help="latest decisions to list (default 20, 0: none)"
    )
    add_ledger_options(decisions)
    decisions.set_defaults(func=lambda a: _guarded("ledger decisions", a, _ledger_decisions))

    query = ledger_sub.add_parser("query", help="run a shipped example query on the ledger")
    query.add_argument("name", choices=EXAMPLE_QUERIES)
    add_ledger_options(query)
    query.set_defaults(func=lambda a: _guarded("ledger query", a, _ledger_query))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tribar.analysis.ledger.cli`` without the rest of the tribar CLI."""
    parser = argparse.ArgumentParser(prog="tribar")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code
