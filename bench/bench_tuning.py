"""Tuning throughput (run: .venv/bin/python bench/bench_tuning.py [--part study|hyperopt|weekly]).

1. Model study: trials per minute with one worker and with two worker processes sharing one
   SQLite study, the standard setup's 14 pairs, 60 days of 1h candles (same seed, same count).
2. Hyperopt: epochs per minute of ``tribar ft hyperopt`` of TripleBarrierML on the standard
   setup's 14 pairs (gate off, so epochs trade), 30-day range: a first run trains FreqAI's
   models, two further runs with 10 and 30 epochs reuse them; the rate is
   20 epochs / (time of the 30-epoch run - time of the 10-epoch run).
3. A weekly run (``tribar tune run``) with config.json's defaults except trials/epochs:
   in-sample (hyperopt) vs held-back Sharpe of the candidate and whether it was promoted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tribar.evaluate.setup import BUNDLED_DATA, STANDARD_PAIRS  # noqa: E402

TRIBAR = [sys.executable, "-m", "tribar.cli"]


def _machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next(
        (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln), ""
    )
    return f"{platform.machine()}, {model or 'unknown CPU'}, nproc {os.cpu_count()}"


def _study(storage: str, trials: int, worker: str) -> list[str]:
    return [
        *TRIBAR, "tune", "study", "--storage", storage, "--study-name", "bench",
        "--trials", str(trials), "--days", "60", "--end", "2025-06-01",
        "--pairs", *STANDARD_PAIRS, "--worker-name", worker, "--seed", "1",
    ]  # fmt: skip


def bench_study(trials: int) -> list[tuple[str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            storage = f"sqlite:///{Path(tmp) / f'study{workers}.sqlite'}"
            start = time.monotonic()
            procs = [
                subprocess.Popen(_study(storage, trials, f"w{i}"), cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in range(workers)
            ]  # fmt: skip
            codes = [p.wait() for p in procs]
            wall = time.monotonic() - start
            if any(codes):
                raise SystemExit(f"study workers exited {codes}")
            import optuna

            done = len(optuna.load_study(study_name="bench", storage=storage).trials)
            rows.append(
                (
                    f"model study, {workers} worker(s), 14 pairs x 60 days",
                    f"{done / wall * 60:.1f} trials/min "
                    f"({done} trials, {wall:.0f} s incl. start-up)",
                )
            )
    return rows


def _hyperopt(userdir: Path, epochs: int) -> float:
    command = [
        *TRIBAR, "ft", "hyperopt", "-c", "config.json", "-c", "config/edge-gate-off.json",
        "--strategy", "TripleBarrierML", "--userdir", str(userdir),
        "--freqaimodel-path", str(REPO / "user_data" / "freqaimodels"),
        "--datadir", str(BUNDLED_DATA), "--pairs", *STANDARD_PAIRS,
        "--hyperopt-loss", "TribarSharpeDrawdownLoss", "--spaces", "buy", "-e", str(epochs),
        "--timerange", "20250801-20250831", "--disable-param-export", "--random-state", "1",
    ]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(
            f"hyperopt exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return time.monotonic() - start


def bench_hyperopt() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        userdir = Path(tmp) / "user_data"
        userdir.mkdir()
        first = _hyperopt(userdir, 1)  # trains FreqAI's models
        short = _hyperopt(userdir, 10)
        long = _hyperopt(userdir, 30)
    rate = 20 / max(long - short, 1e-9) * 60
    return [
        ("hyperopt, first run (FreqAI training + 1 epoch)", f"{first:.0f} s"),
        ("hyperopt, 10 / 30 epochs on trained models", f"{short:.0f} s / {long:.0f} s"),
        ("hyperopt epochs per minute, 14 pairs x 30 days, default workers", f"{rate:.1f}"),
    ]


def bench_weekly(trials: int, epochs: int, configs: list[str]) -> list[tuple[str, str]]:
    extra = [a for c in configs for a in ("-c", c)]
    with tempfile.TemporaryDirectory() as tmp:
        tuning = Path(tmp) / "tuning"
        strategy_file = Path(tmp) / "TripleBarrierML.json"
        start = time.monotonic()
        done = subprocess.run(
            [
                *TRIBAR,
                "tune",
                "run",
                "-c",
                "config.json",
                *extra,
                "--tuning-dir",
                str(tuning),
                "--strategy-file",
                str(strategy_file),
                "--end",
                "2025-10-01",
                "--trials",
                str(trials),
                "--epochs",
                str(epochs),
                "--seed",
                "1",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - start
        if done.returncode:
            raise SystemExit(f"tune run exited {done.returncode}:\n{done.stderr[-3000:]}")
        history = subprocess.run(
            [*TRIBAR, "tune", "history", "--json", "--tuning-dir", str(tuning),
             "--strategy-file", str(strategy_file)],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    entry: dict[str, Any] = json.loads(history)[-1]
    f = entry["figures"]
    ins = f["hyperopt"].get("in_sample_sharpe")
    return [
        (
            f"weekly run (config.json{''.join(' + ' + c for c in configs)}: 6 pairs; "
            "90 tuning + 30 held-back days to 2025-10-01)",
            f"{wall / 60:.1f} min, {trials} trials, {epochs} epochs",
        ),
        (
            "study's best design",
            f"trade t-stat {f['study']['objective']:.2f}, DSR {f['study']['dsr']:.2f}, "
            f"{f['study']['trades']} trades",
        ),
        (
            "candidate in-sample Sharpe (hyperopt's best epoch)",
            "no best epoch" if ins is None else f"{ins:.2f}",
        ),
        (
            "candidate held-back Sharpe / trades",
            f"{f['held_back_candidate']['sharpe']:.2f} / {f['held_back_candidate']['trades']}",
        ),
        (
            "in service held-back Sharpe / trades",
            f"{f['held_back_current']['sharpe']:.2f} / {f['held_back_current']['trades']}",
        ),
        ("decision", f"{entry['action']}: {entry['reason']}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["study", "hyperopt", "weekly", "all"], default="all")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--weekly-trials", type=int, default=20)
    parser.add_argument("--weekly-epochs", type=int, default=30)
    parser.add_argument("--weekly-config", action="append", default=[], help="extra config files")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    if args.part in ("study", "all"):
        rows += bench_study(args.trials)
    if args.part in ("hyperopt", "all"):
        rows += bench_hyperopt()
    if args.part in ("weekly", "all"):
        rows += bench_weekly(args.weekly_trials, args.weekly_epochs, args.weekly_config)
    print(
        f"tuning benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {_machine()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
