"""Fixed stakes vs Kelly x volatility sizing: the same strategy, models and run setup.

Standard setup: the 14 bundled pairs (user_data/data/binance), 1h, 2025-01-01..2025-10-01,
fee 0.1 %, 1000 USDT, max 5 open trades, protections and the hard risk limits on. Both arms use
one FreqAI identifier, so they trade on identical predictions; only ``custom_stake_amount``
differs (fixed arm: Freqtrade's stake_amount, still under the hard limits).

    .venv/bin/python bench/bench_sizing.py [--timerange 20250101-20251001] [--datadir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tribar.evaluate.data import prepare_datadir
from tribar.evaluate.setup import BUNDLED_DATA

REPO = Path(__file__).resolve().parent.parent
PAIRS = [
    f"{base}/USDT"
    for base in [
        "BTC",
        "ETH",
        "SOL",
        "XRP",
        "BNB",
        "ADA",
        "DOGE",
        "LINK",
        "LTC",
        "AVAX",
        "BCH",
        "TRX",
        "UNI",
        "NEAR",
    ]
]
IDENTIFIER = "tribar-bench-sizing"

FIXED_STRATEGY = """
from freqtrade.strategy import BooleanParameter
from tribar.strategies.TripleBarrierML import TripleBarrierML


class TripleBarrierMLFixedSizing(TripleBarrierML):
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
"""


def _run(
    strategy: str, strategy_path: Path, override: Path, timerange: str, out: Path, datadir: Path
) -> float:
    env = {**os.environ, "FREQTRADE__FREQAI__IDENTIFIER": IDENTIFIER}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tribar.cli", "ft", "backtesting", "-c", "config.json",
         "-c", str(override), "--strategy", strategy, "--strategy-path", str(strategy_path),
         "--datadir", str(datadir), "--timerange", timerange, "--enable-protections",
         "--cache", "none",
         "--backtest-directory", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    (out / "freqtrade.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"{strategy} backtest failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return time.monotonic() - started


def _stats(out: Path, strategy: str) -> dict[str, Any]:
    archive = max(out.glob("backtest-result-*.zip"), key=lambda p: p.stat().st_mtime)
    with zipfile.ZipFile(archive) as zf:
        name = next(
            n
            for n in zf.namelist()
            if n.endswith(".json") and "_config" not in n and "market" not in n
        )
        stats: dict[str, Any] = json.loads(zf.read(name))["strategy"][strategy]
    return stats


def _worst_day(stats: dict[str, Any]) -> float:
    trades = pd.DataFrame(stats["trades"])
    if trades.empty:
        return 0.0
    days = pd.to_datetime(trades["close_date"], utc=True).dt.floor("D")
    return float(trades.groupby(days)["profit_abs"].sum().min())


def _row(stats: dict[str, Any], wallet: float) -> dict[str, float]:
    total = float(stats["profit_total_abs"])
    max_dd = float(stats.get("max_drawdown_account", 0.0))
    ret = total / wallet
    return {
        "trades": float(stats["total_trades"]),
        "return_pct": 100 * ret,
        "max_dd_pct": 100 * max_dd,
        "ret_over_dd": ret / max_dd if max_dd > 0 else float("nan"),
        "worst_day_usdt": _worst_day(stats),
        "avg_stake": float(pd.DataFrame(stats["trades"])["stake_amount"].mean())
        if stats["trades"]
        else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timerange", default="20250101-20251001")
    parser.add_argument(
        "--datadir", type=Path, default=BUNDLED_DATA, help="candles (default: the bundled ones)"
    )
    args = parser.parse_args()
    wallet = 1000.0
    shutil.rmtree(REPO / "user_data" / "models" / IDENTIFIER, ignore_errors=True)
    with contextlib.nullcontext(tempfile.mkdtemp(prefix="tribar-bench-sizing-")) as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "strategies").mkdir()
        (tmp / "strategies" / "TripleBarrierMLFixedSizing.py").write_text(FIXED_STRATEGY)
        override = tmp / "standard.json"
        override.write_text(json.dumps({
            # Freqtrade reads the data folder only from --datadir, never from a config file.
            "exchange": {"pair_whitelist": PAIRS}, "fee": 0.001,
            "dry_run_wallet": wallet, "max_open_trades": 5,
        }))  # fmt: skip
        # The same data the evaluation uses: the candles plus timeframes they lack (NEAR 4h),
        # derived from the 1h candles.
        data = prepare_datadir(args.datadir, tmp / "data" / "binance", PAIRS, ("1h", "4h", "1d"))
        print(f"derived from 1h: {', '.join(data.derived) or 'nothing'}", flush=True)
        results = {}
        # Kelly first: it trains the models the fixed arm then reuses.
        for label, strategy, path in (
            ("Kelly x volatility", "TripleBarrierML", REPO / "strategies"),
            ("fixed stakes", "TripleBarrierMLFixedSizing", tmp / "strategies"),
        ):
            out = tmp / label.replace(" ", "_")
            out.mkdir()
            seconds = _run(strategy, path, override, args.timerange, out, data.datadir)
            results[label] = (_row(_stats(out, strategy), wallet), seconds)
            log = (out / "freqtrade.log").read_text()
            trained = log.count("triple-barrier training on")
            queue = next((ln for ln in log.splitlines() if "train queue" in ln), "")
            print(f"{label}: {seconds:.0f} s, trainings: {trained}; {queue[-160:]}", flush=True)

    print(f"logs and results: {tmp_name}")
    print(
        f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} "
        f"cores; 14 pairs, {args.timerange}, fee 0.1 %, wallet 1000, max 5 trades, "
        "--enable-protections, hard limits from config/risk_limits.json"
    )
    header = "| sizing | trades | avg stake | return % | max DD % | return/DD | worst day | s |"
    print("\n" + header + "\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, (row, seconds) in results.items():
        cells = [
            f"{row['trades']:.0f}", f"{row['avg_stake']:.1f}", f"{row['return_pct']:.2f}",
            f"{row['max_dd_pct']:.2f}", f"{row['ret_over_dd']:.2f}",
            f"{row['worst_day_usdt']:.2f}", f"{seconds:.0f}",
        ]  # fmt: skip
        print(f"| {label} | " + " | ".join(cells) + " |")
    kelly, fixed = results["Kelly x volatility"][0], results["fixed stakes"][0]
    if fixed["max_dd_pct"] > 0:
        ratio = kelly["max_dd_pct"] / fixed["max_dd_pct"]
        print(
            f"\nmax drawdown Kelly/fixed = {ratio:.2f} ({100 * (1 - ratio):.0f} % lower; "
            f"target >= 30 %); return/DD Kelly {kelly['ret_over_dd']:.2f} vs fixed "
            f"{fixed['ret_over_dd']:.2f} (target: equal or better)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
