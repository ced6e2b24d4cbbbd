"""``tribar demo``: the README's first command — an offline walk-forward backtest of the bundle's
ML strategy on the bundled data, Freqtrade's summary, and where the report files are."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tribar.ftcli import run_freqtrade
from tribar.ml.model_metrics import edge_gate_openings

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
    trades = _trade_count(result)
    code, plot_line = 0, "not written: no trades to plot (Freqtrade's plot-profit needs some)"
    if trades:
        code = run_freqtrade(
            ["plot-profit", "-c", config, *strategy_args, "--timerange", timerange,
             "--backtest-filename", str(result)]
        )  # fmt: skip
        plot = _latest(PLOT_DIR, "freqtrade-profit-plot*.html")
        plot_line = str(plot) if code == 0 else "not written (plot-profit failed)"
    gate_line = _gate_line(config)
    elapsed = time.monotonic() - started
    print()
    print(f"tribar demo finished in {elapsed:.0f} s (offline, bundled data, timerange {timerange})")
    print(f"  backtest result : {result} ({trades} trades)")
    print(f"  profit plot     : {plot_line}")
    print(f"  edge gate       : {gate_line}")
    print("  re-show summary : tribar ft backtesting-show -c config.json")
    return code


def _trade_count(result: Path) -> int:
    from freqtrade.data.btanalysis import load_backtest_stats

    stats = load_backtest_stats(result)
    return sum(int(s.get("total_trades", 0)) for s in stats.get("strategy", {}).values())


def _gate_line(config: str) -> str:
    """How many of the model's trainings showed an edge (the strategy trades only on those)."""
    from freqtrade.configuration.load_config import load_from_files

    cfg = load_from_files([config])
    identifier = cfg.get("freqai", {}).get("identifier")
    if not identifier:
        return "n/a (no FreqAI identifier in the config)"
    model_dir = Path(cfg.get("user_data_dir", "user_data")) / "models" / identifier
    openings = edge_gate_openings(model_dir)
    if openings is None:
        return f"off (no gated training under {model_dir})"
    passed, judged = openings
    return (
        f"{passed} of {judged} trainings under {model_dir} showed an edge on held-out data; the "
        "others predicted their pair's long-run take-profit rate, where the strategy does not "
        "enter (docs/strategy.md, docs/results.md)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tribar demo", description=__doc__)
    parser.add_argument("-c", "--config", default="config.json")
    parser.add_argument("--timerange", default=DEMO_TIMERANGE)
    parser.add_argument("--strategy", default=None, help="default: the config's strategy")
    args = parser.parse_args(argv)
    return run_demo(args.config, args.timerange, args.strategy)
