"""Install size and time of tribar vs Freqtrade's own extras, and the offline demo backtest time.

Baseline: `freqtrade[freqai,hyperopt,plot]` — what a user would install to get the same features
from Freqtrade's extras (the freqai extra adds tensorboard and the full xgboost wheel with its
NCCL GPU library). Both installs run in fresh venvs, same pip flags, same run.

    .venv/bin/python bench/bench_install.py [--skip-install] [--skip-backtest]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tribar.testing.machine import cpu_model

REPO = Path(__file__).resolve().parent.parent
FREQTRADE_SPEC = "freqtrade[freqai,hyperopt,plot]==2026.9"


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _install(target: str, workdir: Path) -> tuple[float, int, int]:
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir"]
    started = time.monotonic()
    # pip's warnings about this machine's local index folders are noise for the table.
    subprocess.run([*pip, target], check=True, cwd=REPO, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    site = next((venv / "lib").glob("python3*/site-packages"))
    packages = len(list(site.glob("*.dist-info")))
    size = _du(venv)
    shutil.rmtree(venv)
    return elapsed, size, packages


def _timed_backtest(identifier: str) -> float:
    env = {**os.environ, "FREQTRADE__FREQAI__IDENTIFIER": identifier}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "tribar.cli", "ft", "backtesting", "-c", "config.json",
             "--timerange", "20250501-20251001", "--cache", "none", "--backtest-directory", out],
            cwd=REPO, env=env, check=True, capture_output=True,
        )  # fmt: skip
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args()
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {cpu_model()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
    if not args.skip_install:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            targets = (("tribar (this repo)", "."), ("baseline " + FREQTRADE_SPEC, FREQTRADE_SPEC))
            for label, target in targets:
                seconds, size, packages = _install(target, Path(tmp))
                rows.append((label, seconds, size, packages))
        print("\n| install | seconds | venv size MiB | packages |\n|---|---:|---:|---:|")
        for label, seconds, size, packages in rows:
            print(f"| {label} | {seconds:.0f} | {size / 2**20:.0f} | {packages} |")
        print(f"| ratio tribar / baseline | {rows[0][1] / rows[1][1]:.2f} | "
              f"{rows[0][2] / rows[1][2]:.2f} | |")  # fmt: skip
    if not args.skip_backtest:
        ident = f"bench-{int(time.time())}"
        cold = _timed_backtest(ident)
        warm = _timed_backtest(ident)
        shutil.rmtree(REPO / "user_data" / "models" / ident, ignore_errors=True)
        print("\n| offline backtest, TripleBarrierML, 6 pairs, 2025-05-01..2025-10-01 | seconds |")
        print("|---|---:|")
        print(f"| cold (trains 6 pairs x 5 windows) | {cold:.1f} |")
        print(f"| warm (models reused) | {warm:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
