"""Freqtrade backtests as subprocesses (``python -m tribar.cli ft backtesting …``), one result
directory per run, with wall and CPU time, and a record that lets a later report reuse a run
whose inputs have not changed.

A subprocess rather than in-process: each run gets a fresh Freqtrade (FreqAI keeps module-level
state), its own log file, and a wall time that includes everything a user would wait for.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import freqtrade

from tribar.evaluate.setup import MODELS_DIR, REPO_ROOT, RunSetup, write_config

# Sources whose change must retrain the strategy's models (labels, features, training).
MODEL_SOURCES = (
    "tribar/labels.py",
    "tribar/barrier_trade.py",
    "tribar/calibration.py",
    "tribar/splits.py",
    "tribar/ml/freqai_model.py",
    "tribar/ml/barrier_classifier.py",
    "user_data/freqaimodels/TripleBarrierLGBM.py",
)


# Every backtest runs through these (offline markets), so their change reruns every backtest.
RUN_SOURCES = ("tribar/ftcli.py", "tribar/freqtrade_patches.py", "tribar/markets.py")


class BacktestError(RuntimeError):
    pass


@dataclass(frozen=True)
class RunSpec:
    """One backtest to run: its config and any extra command-line arguments."""

    key: str  # unique within an evaluation, e.g. "strategy/default", "baseline/sample"
    label: str  # shown in the report
    strategy: str
    config: Mapping[str, Any]
    extra_args: tuple[str, ...] = ()
    identifier: str | None = None  # FreqAI model directory under user_data/models
    source_files: tuple[Path, ...] = ()  # files whose content the result depends on

    def cache_key(self, setup: RunSetup, datadir: Path) -> str:
        """Equal only for runs with the same config, code and data: a recorded run with this
        key is the run that would be made now."""
        digest = hashlib.sha256()
        payload = {
            "config": self.config, "args": self.extra_args, "timerange": setup.timerange,
            "freqtrade": freqtrade.__version__,
        }  # fmt: skip
        digest.update(json.dumps(payload, sort_keys=True, default=str).encode())
        for path in (*self.source_files, *(REPO_ROOT / s for s in RUN_SOURCES)):
            digest.update(path.read_bytes() if path.is_file() else b"-")
        for pair_file in sorted(datadir.glob("*.feather")):
            # Symlinked sources are read-only data; their name and size identify them.
            digest.update(f"{pair_file.name}:{pair_file.stat().st_size}".encode())
        return digest.hexdigest()[:16]


@dataclass
class RunRecord:
    key: str
    label: str
    strategy: str
    result_file: str
    identifier: str | None
    wall_seconds: float
    cpu_seconds: float
    trained: bool  # FreqAI models were trained in this run (False: predictions reused)
    cache_key: str
    config_file: str
    log_file: str
    finished_at: str
    command: list[str] = field(default_factory=list)

    @property
    def result_path(self) -> Path:
        return Path(self.result_file)


def content_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _record_path(work_dir: Path, key: str) -> Path:
    return work_dir / "runs" / f"{key.replace('/', '__')}.json"


def load_record(work_dir: Path, key: str) -> RunRecord | None:
    path = _record_path(work_dir, key)
    if not path.is_file():
        return None
    return RunRecord(**json.loads(path.read_text()))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def backtest_command(
    config_file: Path, setup: RunSetup, datadir: Path, result_dir: Path, extra: Sequence[str]
) -> list[str]:
    return [
        sys.executable, "-m", "tribar.cli", "ft", "backtesting",
        "-c", str(config_file),
        # Freqtrade 2026.9 reads the data directory only from the command line.
        "--datadir", str(datadir),
        "--timerange", setup.timerange,
        "--export", "trades",
        "--backtest-directory", str(result_dir),
        "--cache", "none",
        *extra,
    ]  # fmt: skip


def run_backtest(
    spec: RunSpec,
    setup: RunSetup,
    work_dir: Path,
    datadir: Path,
    *,
    reuse: bool = True,
    fresh_models: bool = False,
    timeout: float | None = None,
) -> RunRecord:
    """Run ``spec`` unless a record with the same inputs exists (``reuse``); return its record.

    ``fresh_models`` deletes the FreqAI model directory first, so every window is retrained
    (what the wall-time comparison needs); otherwise FreqAI reuses saved predictions.
    """
    cache_key = spec.cache_key(setup, datadir)
    previous = load_record(work_dir, spec.key)
    if (
        reuse
        and not fresh_models
        and previous is not None
        and previous.cache_key == cache_key
        and previous.result_path.is_file()
    ):
        return previous

    run_dir = work_dir / "results" / spec.key.replace("/", "__")
    shutil.rmtree(run_dir, ignore_errors=True)
    result_dir = run_dir / "backtest"
    result_dir.mkdir(parents=True)  # must exist, else Freqtrade takes it as a file prefix
    config_file = write_config(spec.config, run_dir / "config.json")
    log_file = run_dir / "freqtrade.log"
    model_dir = MODELS_DIR / spec.identifier if spec.identifier else None
    if model_dir is not None and fresh_models:
        shutil.rmtree(model_dir, ignore_errors=True)
    trained = model_dir is not None and not (model_dir / "backtesting_predictions").is_dir()

    command = backtest_command(config_file, setup, datadir, result_dir, spec.extra_args)
    cpu_before = _children_cpu()
    started = time.monotonic()
    with log_file.open("w") as log:
        # cwd: config.json's relative paths (risk limits, markets) resolve as for a user.
        completed = subprocess.run(
            command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
            check=False,
        )  # fmt: skip
    wall = time.monotonic() - started
    cpu = _children_cpu() - cpu_before
    results = sorted(result_dir.glob("*.zip"))
    if completed.returncode != 0 or len(results) != 1:
        tail = log_file.read_text()[-3000:]
        raise BacktestError(
            f"{spec.key}: backtesting exited {completed.returncode} with {len(results)} result "
            f"file(s); log {log_file}:\n{tail}"
        )
    record = RunRecord(
        key=spec.key,
        label=spec.label,
        strategy=spec.strategy,
        result_file=str(results[0]),
        identifier=spec.identifier,
        wall_seconds=round(wall, 2),
        cpu_seconds=round(cpu, 2),
        trained=trained,
        cache_key=cache_key,
        config_file=str(config_file),
        log_file=str(log_file),
        finished_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=command,
    )
    path = _record_path(work_dir, spec.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=1))
    return record
