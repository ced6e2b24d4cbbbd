"""``tribar risk status|reset``: the bot's durable risk state (``tribar.risk.store``), read and
reset straight in its trades database, whether the bot runs or not.

The database is found as Freqtrade finds it: ``--db-url`` > $FREQTRADE__DB_URL > ``db_url`` of
the ``-c`` config files (default ``config.json`` if present) > Freqtrade's default for the
config's ``dry_run`` (``sqlite:///tradesv3.dryrun.sqlite`` or ``sqlite:///tradesv3.sqlite``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

EXIT_OK = 0
EXIT_CORRUPT = 1
EXIT_BAD_INPUT = 2


def resolve_db_url(db_url: str | None, configs: list[str] | None) -> str:
    """The trades database of the bot these config files describe."""
    if db_url:
        return db_url
    from freqtrade.configuration.environment_vars import environment_vars_to_dict
    from freqtrade.constants import DEFAULT_DB_DRYRUN_URL, DEFAULT_DB_PROD_URL
    from freqtrade.misc import deep_merge_dicts

    from tribar.analysis.ledger.url import load_cli_config

    config = deep_merge_dicts(environment_vars_to_dict(), load_cli_config(configs))
    configured = config.get("db_url")
    if configured:
        return str(configured)
    return DEFAULT_DB_DRYRUN_URL if config.get("dry_run", True) else DEFAULT_DB_PROD_URL


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c", "--config", action="append", default=None, metavar="PATH",
        help="the bot's Freqtrade config file(s) (default: config.json if present)",
    )  # fmt: skip
    p.add_argument(
        "--db-url", default=None,
        help="the bot's trades database (default: $FREQTRADE__DB_URL, db_url of the config, "
        "else Freqtrade's default for dry_run)",
    )  # fmt: skip


def register(sub: Any) -> None:
    risk = sub.add_parser(
        "risk",
        help="the bot's durable risk state: circuit-breaker halts and equity peak",
        description=__doc__,
    )
    actions = risk.add_subparsers(dest="risk_command", required=True)
    status = actions.add_parser("status", help="print the stored halts, equity peak and resets")
    _add_options(status)
    status.add_argument("--json", action="store_true", help="print it as one JSON object")
    status.set_defaults(func=_cmd_status)
    reset = actions.add_parser(
        "reset",
        help="ask the bot to lift its drawdown/balance-floor halt and re-base its equity peak",
        description="Records a reset request in the bot's database. A running bot applies it "
        "at its next loop (and announces it); a stopped bot at its next start.",
    )
    _add_options(reset)
    reset.add_argument("--reason", required=True, help="why (logged and announced by the bot)")
    reset.set_defaults(func=_cmd_reset)


def _store(args: argparse.Namespace) -> Any:
    from tribar.risk.store import RiskStateStore

    return RiskStateStore.from_url(resolve_db_url(args.db_url, args.config))


def _fail(command: str, exc: BaseException, code: int) -> int:
    print(f"tribar risk {command}: {exc}", file=sys.stderr)
    return code


def status_document(store: Any, now: datetime) -> dict[str, Any]:
    """What ``tribar risk status`` shows; ``error`` names a corrupt row."""
    from tribar.risk.state import STATE_KEY, RiskStateError, parse
    from tribar.risk.store import RESET_KEY, parse_reset

    rows = store.rows()
    doc: dict[str, Any] = {"where": store.where, "stored": STATE_KEY in rows, "errors": []}
    if STATE_KEY in rows:
        raw, updated = rows[STATE_KEY]
        doc["updated_at"] = updated.isoformat()
        try:
            state = parse(raw)
        except RiskStateError as exc:
            doc["errors"].append(str(exc))
            doc["raw"] = raw
        else:
            halts = [
                {
                    "key": h.key,
                    "reason": h.reason,
                    "since": h.since.isoformat(),
                    "until": h.until.isoformat() if h.until else None,
                    # The bot lifts it at its next loop.
                    "expired": h.until is not None and h.until <= now,
                }
                for h in state.halts
            ]
            holding = [h for h in halts if not h["expired"]]
            doc.update(
                state="halted" if holding else "active",
                equity_peak=state.equity_peak,
                daily_loss_day=state.daily_loss_day.isoformat() if state.daily_loss_day else None,
                halts=halts,
            )
    doc["pending_reset"] = None
    if RESET_KEY in rows:
        try:
            request = parse_reset(rows[RESET_KEY][0])
        except RiskStateError as exc:
            doc["errors"].append(str(exc))
        else:
            doc["pending_reset"] = {
                "id": request.request_id,
                "reason": request.reason,
                "requested_at": request.requested_at.isoformat(),
            }
    return doc


def _print_status(doc: dict[str, Any]) -> None:
    print(f"risk state: {doc['where']}")
    if not doc["stored"]:
        print("  nothing stored yet (the bot writes it at its first loop in dry-run/live)")
    elif "state" in doc:
        print(f"  state        {doc['state'].upper()}")
        peak = doc["equity_peak"]
        print(f"  equity peak  {'none yet' if peak is None else f'{peak:.2f}'}")
        print(f"  UTC day      {doc['daily_loss_day'] or '-'}")
        print(f"  updated      {doc['updated_at']}")
        for h in doc["halts"]:
            until = h["until"] or "manual reset (tribar risk reset)"
            note = " [expired: lifted at the bot's next loop]" if h["expired"] else ""
            print(f"  halt {h['key']}: {h['reason']} (since {h['since']}, until {until}){note}")
    reset = doc["pending_reset"]
    if reset:
        print(
            f"  pending reset: {reset['reason']!r} requested {reset['requested_at']} "
            "(the bot applies it at its next loop or start)"
        )
    for error in doc["errors"]:
        print(f"  CORRUPT: {error}")


def _cmd_status(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.url import LedgerConfigError
    from tribar.risk.store import RiskStoreError

    try:
        store = _store(args)
        try:
            doc = status_document(store, datetime.now(UTC))
        finally:
            store.dispose()
    except (RiskStoreError, LedgerConfigError) as exc:
        return _fail("status", exc, EXIT_BAD_INPUT)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_status(doc)
    return EXIT_CORRUPT if doc["errors"] else EXIT_OK


def _cmd_reset(args: argparse.Namespace) -> int:
    from tribar.analysis.ledger.url import LedgerConfigError
    from tribar.risk.store import RiskStoreError

    reason = args.reason.strip()
    if not reason:
        return _fail("reset", ValueError("--reason must not be empty"), EXIT_BAD_INPUT)
    try:
        store = _store(args)
        try:
            request = store.request_reset(reason)
        finally:
            store.dispose()
    except (RiskStoreError, LedgerConfigError) as exc:
        return _fail("reset", exc, EXIT_BAD_INPUT)
    print(
        f"reset requested ({request.request_id}) in {store.where}: a running bot applies it at "
        "its next loop, a stopped bot at its next start"
    )
    return EXIT_OK
