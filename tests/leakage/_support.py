"""Shared pieces of the leakage tests: paths, the strategies, subprocess runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT, TAKE_PROFIT_GATE_OFF

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "user_data" / "data" / "binance"
STRATEGY_PATH = "tests/leakage/strategies"
STRATEGY = "TripleBarrierMLLeakCheck"
PLANTED_LEAK_STRATEGY = "TripleBarrierMLPlantedLeak"
# The feature that strategy reads from two candles ahead.
PLANTED_FEATURE = "%-planted_future_return"
PAIR = "BTC/USDT"
# Two weeks inside the bundled data (docs/data.md: 1h from 2024-09-14), after FreqAI's 90 training
# days.
TIMERANGE = "20250701-20250715"

LABEL = "&-tb"
# What FreqAI writes into the strategy's frame: the predicted class under the label's name, the
# class probabilities (and, in backtests, the gate-off probability) and do_predict.
# fill_predictions sets all of them to 0 outside the prediction window.
FREQAI_OUTPUTS = frozenset({LABEL, TAKE_PROFIT, NO_TAKE_PROFIT, TAKE_PROFIT_GATE_OFF, "do_predict"})
# Columns TripleBarrierML computes from FreqAI's outputs (populate_indicators / entry trend).
DERIVED_FROM_PREDICTIONS = frozenset({"tribar_p_tp", "tribar_edge", "enter_long", "enter_tag"})
ALLOWED_AT_CUT_END = FREQAI_OUTPUTS | DERIVED_FROM_PREDICTIONS


def scratch_identifier(name: str) -> str:
    """A FreqAI identifier no one else uses: Freqtrade's analyses delete its models folder."""
    return f"tribar-leaktest-{name}-{uuid.uuid4().hex[:8]}"


def clean_env(identifier: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FREQTRADE__", "TRIBAR_"))}
    env["FREQTRADE__FREQAI__IDENTIFIER"] = identifier
    return env


def common_args(userdir: Path, strategy: str = STRATEGY) -> list[str]:
    """Config, strategy, a throw-away --userdir (models land there) and the bundled data."""
    return [
        "-c", "config.json",
        "--strategy", strategy, "--strategy-path", STRATEGY_PATH,
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(DATA_DIR),
        "--timerange", TIMERANGE, "--pairs", PAIR,
    ]  # fmt: skip


def make_userdir(base: Path) -> Path:
    userdir = base / "user_data"
    userdir.mkdir(parents=True)
    return userdir


# Runs several recording analyses in one interpreter (imports cost ~5 s per process).
_RECORDER = """
import json, sys
from pathlib import Path
from tribar.leakage import run_analysis
for job in json.loads(sys.argv[1]):
    report = run_analysis(job["command"], job["args"], keep_features=True)
    Path(job["report"]).write_text(report.to_json())
"""


def run_recorders(
    jobs: list[dict[str, object]], identifier: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """``tribar.leakage.run_analysis`` for each job (command, args, report path)."""
    return subprocess.run(
        [sys.executable, "-c", _RECORDER, json.dumps(jobs)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(identifier),
        check=False,
    )
