"""``tribar demo``: the README's first command — an offline walk-forward backtest of the bundle's
ML strategy on the bundled data, Freqtrade's summary, and where the report files are."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tribar.ftcli import run_freqtrade

DEMO_TIMERANGE = "20250501-20251001"
RESULTS_DIR = Path("user_data/backtest_results")
PLOT_DIR = Path("user_data/plot")


def _latest(directory: Path, pattern: str) -> Path | None:
    files = sorted(directory.glob(pattern), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def run_demo(config: str, timerange: str, strategy: str | None) -> int:
    started = time.monotonic()
    strategy_args = ["--strategy", strategy] if strategy else []
    code = run_freqtrade(
        ["backtesting", "-c", config, *strategy_args, "--timerange", timerange,
         "--export", "trades", "--backtest-directory", str(RESULTS_DIR), "--breakdown", "month"]
    )  # fmt: skip
    if code != 0:
        print(f"tribar demo: backtesting failed (exit {code})", file=sys.stderr)
        return code
    result = _latest(RESULTS_DIR, "backtest-result-*.zip")
    if result is None:
        print(f"tribar demo: no backtest result in {RESULTS_DIR}", file=sys.stderr)
        return 1
    code = run_freqtrade(
        ["plot-profit", "-c", config, *strategy_args, "--timerange", timerange,
         "--backtest-filename", str(result)]
    )  # fmt: skip
    plot = _latest(PLOT_DIR, "freqtrade-profit-plot*.html")
    elapsed = time.monotonic() - started
    print()
    print(f"tribar demo finished in {elapsed:.0f} s (offline, bundled data, timerange {timerange})")
    print(f"  backtest result : {result}")
    print(f"  profit plot     : {plot if code == 0 else 'not written (plot-profit failed)'}")
    print("  re-show summary : tribar ft backtesting-show -c config.json")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tribar demo", description=__doc__)
    parser.add_argument("-c", "--config", default="config.json")
    parser.add_argument("--timerange", default=DEMO_TIMERANGE)
    parser.add_argument("--strategy", default=None, help="default: the config's strategy")
    args = parser.parse_args(argv)
    return run_demo(args.config, args.timerange, args.strategy)
