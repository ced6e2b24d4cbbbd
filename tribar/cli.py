"""The ``tribar`` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tribar.markets import MarketsSnapshotError, fetch_markets, write_snapshot


def _cmd_markets_snapshot(args: argparse.Namespace) -> int:
    try:
        markets = fetch_markets(
            args.exchange,
            args.pairs,
            trading_mode=args.trading_mode,
            api_base_url=args.api_url,
        )
        out = write_snapshot(args.output, args.exchange, markets)
    except MarketsSnapshotError as exc:
        print(f"tribar markets snapshot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(markets)} {args.exchange} market(s) to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tribar",
        description="Triple-barrier ML trading for Freqtrade. "
        "'tribar ft ARGS…' runs Freqtrade's CLI offline from a markets snapshot.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "ft",
        help="run any freqtrade command; offline commands use a markets snapshot "
        "(--markets FILE, tribar.markets_file in the config, or the bundled one; --online to skip)",
        add_help=False,
    )

    sub.add_parser("demo", help="offline backtest of the bundled ML strategy with its report")

    markets = sub.add_parser("markets", help="exchange market snapshots")
    markets_sub = markets.add_subparsers(dest="markets_command", required=True)
    snap = markets_sub.add_parser(
        "snapshot", help="fetch market definitions with ccxt (needs network) and save them"
    )
    snap.add_argument("--exchange", required=True, help="ccxt exchange id, e.g. binance")
    snap.add_argument("--pairs", nargs="+", default=None, help="pairs to keep (default: all)")
    snap.add_argument(
        "--trading-mode", default="spot", choices=["spot", "margin", "future", "swap"]
    )
    snap.add_argument(
        "-o", "--output", default="user_data/markets/snapshot.json", help="file to write"
    )
    snap.add_argument(
        "--api-url",
        default=None,
        help="replace the exchange's REST host (scheme://host:port) with this one, e.g. a mirror",
    )
    snap.set_defaults(func=_cmd_markets_snapshot)

    from tribar.analysis.ledger import cli as ledger_cli
    from tribar.analysis.report import cli as report_cli
    from tribar.evaluate import cli as evaluate_cli
    from tribar.paper import cli as paper_cli
    from tribar.paper import panic

    ledger_cli.register(sub)
    report_cli.register(sub)
    evaluate_cli.register(sub)
    paper_cli.register(sub)
    panic.register(sub)

    from tribar import ui
    from tribar.ml import features_cli
    from tribar.tuning import cli as tune_cli

    ui.register(sub)
    features_cli.register(sub)

    from tribar.ml import models_cli

    models_cli.register(sub)

    from tribar import risk_cli

    risk_cli.register(sub)
    tune_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "ft":
        from tribar.ftcli import run_freqtrade

        return run_freqtrade(args_list[1:])
    if args_list and args_list[0] == "demo":
        from tribar.demo import main as demo_main

        return demo_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
