"""``tribar panic``: stop entries, force-exit every open trade at market, wait until none is
open, and say what was closed — through the bot's REST API, so it works on any running bot
(dry-run, live or a replay)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tribar.paper.errors import ReplayError


class PanicError(ReplayError):
    """The bot could not be reached or did not close its trades in time."""


@dataclass(frozen=True)
class ClosedTrade:
    trade_id: int
    pair: str
    outcome: str  # "closed" (exit filled) or "cancelled" (entry never filled: trade removed)
    close_rate: float | None
    profit_abs: float | None


@dataclass(frozen=True)
class PanicReport:
    entries_stopped: bool
    closed: list[ClosedTrade]
    still_open: list[int]
    seconds: float


def panic(
    client: Any,
    timeout: float = 120.0,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PanicReport:
    """Run the panic sequence on an ``FtRestClient``; raise PanicError naming what failed."""
    started = time.monotonic()
    answer = _checked(client.stopbuy(), "stop entries (/stopbuy)")
    entries_stopped = "status" in answer
    before = {t["trade_id"]: t for t in _checked(client.status(), "list open trades (/status)")}
    if before:
        _checked(client.forceexit("all", ordertype="market"), "force-exit all (/forceexit)")
    deadline = started + timeout
    open_ids = set(before)
    while open_ids and time.monotonic() < deadline:
        sleep(poll)
        current = _checked(client.status(), "list open trades (/status)")
        open_ids = {t["trade_id"] for t in current} & set(before)
    closed = []
    for trade_id, trade in sorted(before.items()):
        if trade_id in open_ids:
            continue
        detail = client.trade(trade_id)
        if isinstance(detail, dict) and detail.get("trade_id") == trade_id:
            closed.append(ClosedTrade(
                trade_id, detail["pair"], "closed", detail.get("close_rate"),
                detail.get("profit_abs", detail.get("close_profit_abs")),
            ))  # fmt: skip
        else:
            closed.append(ClosedTrade(trade_id, trade["pair"], "cancelled", None, None))
    return PanicReport(entries_stopped, closed, sorted(open_ids), time.monotonic() - started)


def _checked(answer: Any, what: str) -> Any:
    if answer is None:
        raise PanicError(f"the bot's REST API did not answer: {what}")
    if isinstance(answer, dict) and "detail" in answer and len(answer) == 1:
        raise PanicError(f"{what} was refused: {answer['detail']}")
    return answer


def api_settings(configs: list[str] | None) -> tuple[str, str | None]:
    """(url, username) from the config files' ``api_server`` section, env overrides applied."""
    from freqtrade.configuration.environment_vars import environment_vars_to_dict
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.misc import deep_merge_dicts

    config: dict[str, Any] = {}
    files = configs or (["config.json", "config.api.json"] if os.path.isfile("config.api.json")
                        else ["config.json"])  # fmt: skip
    existing = [f for f in files if os.path.isfile(f)]
    if existing:
        config = load_from_files(existing)
    config = deep_merge_dicts(environment_vars_to_dict(), config)
    api = config.get("api_server", {})
    host = api.get("listen_ip_address", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{host}:{api.get('listen_port', 8080)}", api.get("username")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "panic",
        help="stop entries and force-exit every open trade of a running bot (REST API)",
        description=__doc__,
    )
    p.add_argument("-c", "--config", action="append", default=None,
                   help="config files with the bot's api_server section")  # fmt: skip
    p.add_argument("--url", default=None, help="REST API base URL (default: from the config)")
    p.add_argument("--username", default=None)
    p.add_argument(
        "--password", default=None,
        help="default: $FREQTRADE__API_SERVER__PASSWORD (never put it in a file)",
    )  # fmt: skip
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the exits")
    p.set_defaults(func=_cmd_panic)


def _cmd_panic(args: argparse.Namespace) -> int:
    from freqtrade_client import FtRestClient

    url, username = api_settings(args.config)
    password = args.password or os.environ.get("FREQTRADE__API_SERVER__PASSWORD")
    client = FtRestClient(args.url or url, args.username or username, password)
    try:
        report = panic(client, timeout=args.timeout)
    except PanicError as exc:
        print(f"tribar panic: {exc}", file=sys.stderr)
        return 2
    print(f"entries stopped: {'yes' if report.entries_stopped else 'no'}")
    for t in report.closed:
        if t.outcome == "closed":
            print(f"  trade {t.trade_id} {t.pair}: closed at {t.close_rate} "
                  f"(profit {t.profit_abs:+.4f})" if t.profit_abs is not None
                  else f"  trade {t.trade_id} {t.pair}: closed at {t.close_rate}")  # fmt: skip
        else:
            print(f"  trade {t.trade_id} {t.pair}: entry order cancelled (nothing was bought)")
    if report.still_open:
        print(f"still open after {args.timeout:.0f} s: trades {report.still_open}", file=sys.stderr)
        return 1
    print(f"no open trades ({len(report.closed)} closed in {report.seconds:.1f} s)")
    return 0
