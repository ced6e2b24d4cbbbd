"""``tribar ft …``: Freqtrade's own CLI, with markets from a snapshot instead of the network."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tribar.markets import BUNDLED_SNAPSHOT, MarketsSnapshotError, load_snapshot

# Commands that talk to the exchange for more than market definitions (prices, orders, candles):
# a snapshot would only hide stale precision there, so they run against the live exchange.
ONLINE_COMMANDS = frozenset({"trade", "download-data", "test-pairlist"})


def _pop_option(argv: list[str], name: str) -> str | None:
    """Remove ``name VALUE`` / ``name=VALUE`` from argv and return VALUE."""
    for i, arg in enumerate(argv):
        if arg == name:
            if i + 1 >= len(argv):
                raise SystemExit(f"tribar ft: {name} needs a value")
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del argv[i]
            return arg.split("=", 1)[1]
    return None


def _pop_flag(argv: list[str], name: str) -> bool:
    if name in argv:
        argv.remove(name)
        return True
    return False


def _config_paths(argv: Sequence[str]) -> list[str]:
    paths: list[str] = []
    for i, arg in enumerate(argv):
        if arg in ("-c", "--config") and i + 1 < len(argv):
            paths.append(argv[i + 1])
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
    return paths


def _subcommand(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def markets_file_from_config(config_paths: Sequence[str]) -> str | None:
    """``tribar.markets_file`` of the merged config files (later files win), if set."""
    if not config_paths:
        default = Path("config.json")
        config_paths = [str(default)] if default.is_file() else []
    if not config_paths:
        return None
    from freqtrade.configuration.load_config import load_from_files

    config: dict[str, Any] = load_from_files(list(config_paths))
    value = (config.get("tribar") or {}).get("markets_file")
    if value is not None and not isinstance(value, str):
        raise MarketsSnapshotError(
            f"config key tribar.markets_file must be a file path string, got {value!r}"
        )
    return value


def run_freqtrade(argv: Sequence[str]) -> int:
    """Run Freqtrade's CLI with ``argv``; return its exit code (non-zero on config errors)."""
    args = list(argv)
    markets_arg = _pop_option(args, "--markets")
    online = _pop_flag(args, "--online")
    command = _subcommand(args)
    offline = not online and command not in ONLINE_COMMANDS

    if offline and command is not None:
        from freqtrade.exceptions import OperationalException

        from tribar.freqtrade_patches import install_offline_markets

        try:
            markets_path = (
                markets_arg
                or os.environ.get("TRIBAR_MARKETS_FILE")
                or markets_file_from_config(_config_paths(args))
                or str(BUNDLED_SNAPSHOT)
            )
            snapshot = load_snapshot(markets_path)
        except (MarketsSnapshotError, OperationalException) as exc:
            print(f"tribar ft: {exc}", file=sys.stderr)
            return 2
        install_offline_markets(snapshot)
    elif markets_arg is not None:
        print(
            f"tribar ft: --markets is for offline commands; '{command}' uses the live exchange",
            file=sys.stderr,
        )
        return 2

    return run_freqtrade_main(args)


def run_freqtrade_main(args: Sequence[str]) -> int:
    """Freqtrade's ``main`` with tribar's always-on patches; its exit code (non-zero on
    configuration errors)."""
    from freqtrade.main import main as freqtrade_main

    from tribar.freqtrade_patches import install_config_error_exit_code, install_telegram_api_url

    install_config_error_exit_code()
    # Every command: acts only where Telegram starts and tribar.telegram_api_url is set.
    install_telegram_api_url(lazy=True)
    try:
        freqtrade_main(list(args))
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0
