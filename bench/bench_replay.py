"""Benchmark: replay speed of a real `freqtrade trade` dry-run (`tribar paper --replay`), in
simulated hours per wall second, for 6 and 14 pairs.

Usage (from the repository root)::

    .venv/bin/python bench/bench_replay.py [--days 2] [--step 300] [--out docs/_bench_replay.md]

Each run is the shipped bot as a user starts it (config.json: TripleBarrierML, FreqAI
TripleBarrierLGBM on 1h/4h/1d features with BTC/ETH context, the edge gate on, 90-day training
window), with the whitelist set to the first N of the standard setup's 14 pairs, from
2025-06-01 on the bundled candles, in a fresh run folder (so FreqAI first trains every pair,
as a live bot does at its start). Wall time is the whole ``tribar paper`` process: start-up,
FreqAI's initial download and training, the bot loop, shutdown. The baseline named by the
issue is real time, 1 simulated hour per wall hour, so the speed is also the ratio to it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tribar.evaluate.setup import STANDARD_PAIRS
from tribar.testing.machine import cpu_model, load_average

REPO = Path(__file__).resolve().parent.parent
START = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplaySpeed:
    pairs: int
    simulated_hours: float
    wall_seconds: float
    trades: int
    load_before: str
    load_after: str

    @property
    def speed(self) -> float:
        return self.simulated_hours / self.wall_seconds


def run(pairs: int, days: float, step: int, workdir: Path) -> ReplaySpeed:
    override = workdir / f"pairs-{pairs}.json"
    override.write_text(json.dumps({"exchange": {"pair_whitelist": list(STANDARD_PAIRS[:pairs])}}))
    end = START + timedelta(days=days)
    run_dir = workdir / f"run-{pairs}"
    args = [sys.executable, "-m", "tribar.cli", "paper", "--replay",
            f"{START:%Y%m%d}..{end:%Y%m%d}", "-c", "config.json", "-c", str(override),
            "--run-dir", str(run_dir), "--step", str(step)]  # fmt: skip
    before = load_average()
    started = time.monotonic()
    subprocess.run(args, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    from tribar.paper.summary import trade_counts

    counts = trade_counts(f"sqlite:///{run_dir / 'tradesv3.replay.sqlite'}")
    return ReplaySpeed(pairs, days * 24, wall, counts.opened, before, load_average())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--step", type=int, default=300)
    parser.add_argument("--pairs", type=int, nargs="+", default=[6, 14])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [run(n, args.days, args.step, Path(tmp)) for n in args.pairs]
    lines = [
        f"Replay speed, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, 2 cores; "
        f"{args.days:g} simulated days from {START:%Y-%m-%d}, step {args.step} s, shipped config",
        "",
        "| pairs | simulated h | wall s | simulated h / wall s (x real time) | trades "
        "| load before → after |",
        "|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for r in results:
        lines.append(
            f"| {r.pairs} | {r.simulated_hours:.0f} | {r.wall_seconds:.0f} | {r.speed:.2f} "
            f"(x {r.speed * 3600:,.0f}) | {r.trades} | {r.load_before} → {r.load_after} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
