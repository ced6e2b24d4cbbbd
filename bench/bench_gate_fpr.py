"""Benchmark: the edge gate's openings on real and on shuffled (placebo) labels, for the
``single`` and ``consecutive`` rules, over full walk-forward backtests of the standard setup.

Usage (from the repository root)::

    .venv/bin/python bench/bench_gate_fpr.py [--seeds 1 2] [--out docs/_bench_gate_fpr.md]
        [--block ROWS] [--no-real] [--reuse] [--design edge-gate|pooled|tf-4h|meta-tsmom]

Each run is ``tribar evaluate``'s backtest of the shipped design (``config.json``, 14 pairs,
2025-01-01..2025-10-01, train 90 d, retrain every 30 d) from an empty model directory, with
``freqai.tribar.edge_gate_rule: consecutive``; one run per label source: the real labels, then
one per placebo seed (``freqai.tribar.placebo_shuffle_seed``: each training's labels permuted in
blocks of H rows, or ``--block`` rows, so every edge is chance). ``--design`` takes another gated
design of ``tribar evaluate`` instead of the shipped one (``pooled``: one decision per window for
every pair, so each window counts once; ``tf-4h``; ``meta-tsmom``: the bets' labels).
``--reuse`` takes a recorded run and its models when config, code and data are unchanged (to
add seeds or re-render the table).
Both rules come from the same run: every training records its own test (``test_passed``) and
the ``consecutive`` decision (``passed``, which also needs the pair's previous independent
training); the booster and its test do not depend on the rule, so ``single`` is ``test_passed``.
False-positive rate = placebo openings / trainings judged, with a Wilson 95 % interval; the first
training of each pair has no previous training and counts as judged (and closed) under
``consecutive``, as it would be live.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import statistics
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tribar.evaluate.data import prepare_for_setup
from tribar.evaluate.runner import run_backtest
from tribar.evaluate.setup import (
    MODELS_DIR,
    REPO_ROOT,
    STANDARD,
    USER_DATA,
    RunSetup,
    deep_merge,
)
from tribar.evaluate.specs import strategy_spec
from tribar.evaluate.variants import Variant, by_name
from tribar.ml.gate_rule import CONSECUTIVE
from tribar.ml.model_metrics import gate_decisions

REPO = Path(__file__).resolve().parent.parent
Z_95 = 1.959964


@dataclass(frozen=True)
class Count:
    openings: int
    judged: int


@dataclass(frozen=True)
class RunCounts:
    label: str  # "real" or "placebo seed N"
    single: Count
    consecutive: Count
    disjoint_previous: int  # trainings whose previous record was the pair's last training
    wall_seconds: float
    cal_days: tuple[float, float]  # calibration-block length, min / max over trainings
    gap_days: tuple[float, float]  # gap between consecutive blocks of a pair, min / max
    z_values: tuple[float, ...]  # the trainings' own test statistics (finite ones)


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (no trials: the whole [0, 1])."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    half = z * spread / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


GATED_DESIGNS = ("edge-gate", "pooled", "tf-4h", "meta-tsmom")


def _days(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 86400


def count(label: str, gates: list[dict[str, Any]], wall: float) -> RunCounts:
    single = Count(sum(bool(g["test_passed"]) for g in gates), len(gates))
    consecutive = Count(sum(bool(g["passed"]) for g in gates), len(gates))
    cal = [_days(g["calibration_start"], g["calibration_end"]) for g in gates]
    z = [float(g["z"]) for g in gates if g.get("z") is not None and math.isfinite(g["z"])]
    by_pair: dict[str, list[dict[str, Any]]] = {}
    for g in gates:
        by_pair.setdefault(str(g["pair"]), []).append(g)
    gaps, used_last = [], 0
    for trainings in by_pair.values():
        trainings.sort(key=lambda g: g["calibration_end"])
        for before, after in itertools.pairwise(trainings):
            gaps.append(_days(before["calibration_end"], after["calibration_start"]))
            previous = after.get("previous")
            used_last += (
                previous is not None and previous["calibration_end"] == before["calibration_end"]
            )
    return RunCounts(
        label, single, consecutive, used_last, wall,
        (min(cal, default=math.nan), max(cal, default=math.nan)),
        (min(gaps, default=math.nan), max(gaps, default=math.nan)),
        tuple(z),
    )  # fmt: skip


def run(
    setup: RunSetup, seed: int | None, work_dir: Path, datadir: Path, reuse: bool,
    block: int | None, design: Variant,
) -> RunCounts:  # fmt: skip
    tribar: dict[str, Any] = {"edge_gate_rule": CONSECUTIVE}
    prefix = "gate-fpr" if design.name == "edge-gate" else f"gate-fpr-{design.name}"
    name = f"{prefix}-real"
    if seed is not None:
        tribar["placebo_shuffle_seed"] = seed
        name = f"{prefix}-placebo-{seed}"
        if block is not None:
            tribar["placebo_block_candles"] = block
            name += f"-block-{block}"
    variant = replace(
        design, name=name, description=f"{design.description}; {tribar}",
        freqai=deep_merge(design.freqai, {"tribar": tribar}),
    )  # fmt: skip
    spec = strategy_spec(setup, variant, work_dir)
    record = run_backtest(spec, setup, work_dir, datadir, reuse=reuse, fresh_models=not reuse)
    assert spec.identifier is not None
    gates = gate_decisions(MODELS_DIR / spec.identifier)
    if not gates:
        raise SystemExit(
            f"{spec.key}: no gated training under {MODELS_DIR / spec.identifier} (models deleted "
            "after the run was recorded?); run again without --reuse"
        )
    blocks = "" if block is None else f" (blocks of {block})"
    label = "real labels" if seed is None else f"shuffled{blocks}, seed {seed}"
    return count(label, gates, record.wall_seconds)


def _rate(c: Count) -> str:
    low, high = wilson(c.openings, c.judged)
    share = c.openings / c.judged if c.judged else math.nan
    return f"{c.openings} / {c.judged} | {100 * share:.2f} % | {100 * low:.2f} - {100 * high:.2f} %"


def _z(values: tuple[float, ...]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.fmean(values):+.2f} / {statistics.pstdev(values):.2f} / {max(values):.2f}"


def render(
    setup: RunSetup, runs: list[RunCounts], z: float, block: int | None, design: Variant
) -> str:
    real = [r for r in runs if r.label == "real labels"]
    placebo = [r for r in runs if r.label != "real labels"]
    rules = ("single", "consecutive")
    pooled = {
        rule: Count(sum(getattr(r, rule).openings for r in placebo),
                    sum(getattr(r, rule).judged for r in placebo))
        for rule in rules
    }  # fmt: skip
    placebo_z = tuple(v for r in placebo for v in r.z_values)
    spread = statistics.pstdev(placebo_z) if len(placebo_z) > 1 else math.nan
    summary = [
        f"| real labels | {rule} | {_rate(getattr(r, rule))} |" for r in real for rule in rules
    ] + [
        f"| **shuffled, {len(placebo)} runs pooled: the false-positive rate** | {rule} | "
        f"{_rate(pooled[rule])} |"
        for rule in rules
    ]
    alpha = 0.5 * math.erfc(z / math.sqrt(2))
    # What a normal test statistic with the placebo's spread would give: alpha, then alpha^2.
    spread_alpha = 0.5 * math.erfc(z / (spread * math.sqrt(2))) if spread > 0 else math.nan
    per_run = [
        f"| {r.label} | {r.single.openings} / {r.single.judged} | "
        f"{r.consecutive.openings} / {r.consecutive.judged} | {r.wall_seconds:.0f} | "
        f"{r.cal_days[0]:.1f} - {r.cal_days[1]:.1f} | "
        f"{r.gap_days[0]:.1f} - {r.gap_days[1]:.1f} | {r.disjoint_previous} | {_z(r.z_values)} |"
        for r in runs
    ]
    return "\n".join(
        [
            "# Edge gate false-positive rate benchmark",
            "",
            "Generated by `bench/bench_gate_fpr.py`; do not edit by hand.",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
            f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores usable, "
            f"shared with other jobs; Python {platform.python_version()}",
            f"- setup: {len(setup.pairs)} pairs, {setup.timerange}, design `{design.name}` of "
            f"`tribar evaluate` ({design.description}); train 90 d, retrain every 30 d, "
            f"calibration block the last 20 % of labelled rows, `edge_gate_z` {z}, nominal "
            f"one-sided alpha {100 * alpha:.1f} %",
            "- one backtest per run, every window trained; *single*: the training's own "
            "test; *consecutive*: that test and the pair's previous independent training's test "
            "both passed (first training of a pair: closed). Shuffled: "
            "`placebo_shuffle_seed`, labels permuted per training in blocks of "
            + ("H rows (the label horizon)" if block is None
               else f"{block} rows (`placebo_block_candles`)")
            + ("; pooled: one decision per window for all pairs, timestamps permuted alike for "
               "every pair" if design.name == "pooled" else ""),
            "",
            "| labels | rule | openings / trainings judged | rate | Wilson 95 % |",
            "|---|---|---:|---:|---:|",
            *summary,
            "",
            f"Shuffled labels, all {len(placebo_z)} tests: z mean / sd / max {_z(placebo_z)}; "
            f"a normal z with that spread passes {z} with probability {100 * spread_alpha:.3f} % "
            f"(so about {100 * spread_alpha**2:.5f} % for two independent tests), against the "
            f"nominal {100 * alpha:.1f} % of a unit spread.",
            "",
            "| run | single | consecutive | wall s | calibration block, days | gap between a "
            "pair's consecutive blocks, days | trainings whose previous = the pair's last "
            "training | own test z: mean / sd / max |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *per_run,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--no-real", action="store_true", help="skip the real-labels run")
    parser.add_argument(
        "--block", type=int, default=None,
        help="placebo_block_candles (rows per permuted block); default: the label horizon",
    )  # fmt: skip
    parser.add_argument(
        "--reuse", action="store_true",
        help="reuse a recorded run (and its models) whose config, code and data are unchanged",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "_bench_gate_fpr.md")
    parser.add_argument(
        "--work-dir", type=Path, default=USER_DATA / "backtest_results" / "bench-gate-fpr"
    )
    parser.add_argument(
        "--design", choices=GATED_DESIGNS, default="edge-gate",
        help="the gated design of `tribar evaluate` to measure (default: the shipped one)",
    )  # fmt: skip
    args = parser.parse_args()
    design = by_name([args.design])[0]

    setup = STANDARD
    data = prepare_for_setup(setup, args.work_dir)
    shipped = json.loads((REPO_ROOT / "config.json").read_text())
    z = float(shipped["freqai"]["tribar"]["edge_gate_z"])
    runs: list[RunCounts] = []
    for seed in ([] if args.no_real else [None]) + list(args.seeds):
        print(f"{'real labels' if seed is None else f'placebo seed {seed}'} …", flush=True)
        runs.append(
            run(setup, seed, args.work_dir, data.datadir, args.reuse, args.block, design)
        )
        last = runs[-1]
        print(f"  {last.wall_seconds:.0f} s: single {last.single}, consecutive "
              f"{last.consecutive}", flush=True)  # fmt: skip
        text = render(setup, runs, z, args.block, design)
        args.out.write_text(text)  # after every run, so a stopped bench keeps what it measured
    print(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
