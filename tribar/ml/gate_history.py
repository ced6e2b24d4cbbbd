"""Each pair's edge-test results, kept on disk for the ``consecutive`` gate rule.

One JSON file per pair under the FreqAI identifier's folder (next to the label history), not in
the per-training ``sub-train-*`` folders: live, FreqAI's ``purge_old_models`` deletes all but
the newest trainings, while the rule needs the training of ~18 days ago (the last one whose
calibration block is disjoint). The identifier's folder outlives purges and restarts and is
where backtests write too, so one mechanism serves both. A record from a later run cannot leak
into an earlier window: only records trained before the judged training, whose calibration block
ended before its own began, are ever used (``tribar.ml.gate_rule.previous_independent``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from tribar.ml.gate_rule import GateRecord, gate_opens, previous_independent

GATE_HISTORY_DIR = "tribar_gate_history"
# A year of daily live retrainings; older records can never be the "previous" training.
MAX_RECORDS = 400


class GateHistory:
    """Per-pair list of :class:`GateRecord` under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def file(self, pair: str) -> Path:
        return self.directory / f"{pair.replace('/', '_').replace(':', '_')}.json"

    def load(self, pair: str) -> list[GateRecord]:
        path = self.file(pair)
        if not path.exists():
            return []
        try:
            payload = json.loads(path.read_text())
            return [GateRecord.from_dict(r) for r in payload["records"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"edge gate history {path} is unreadable ({type(exc).__name__}: {exc}); "
                'expected {"records": [{"train_end", "calibration_start", "calibration_end", '
                '"test_passed", "auc", "z"}, ...]}; delete it to start a new history'
            ) from exc

    def record(self, pair: str, record: GateRecord) -> list[GateRecord]:
        """Add ``record`` (replacing one with the same ``train_end``: a retrained window) and
        return the pair's records, oldest first."""
        kept = [r for r in self.load(pair) if r.train_end != record.train_end]
        records = sorted([*kept, record], key=lambda r: r.train_end)[-MAX_RECORDS:]
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.file(pair)
        temporary = path.with_suffix(".json.tmp")
        # Write-then-rename: a crash mid-write leaves the old history, never half a file.
        temporary.write_text(json.dumps({"records": [r.as_dict() for r in records]}, indent=1))
        os.replace(temporary, path)
        return records


def judge(
    history: GateHistory, pair: str, record: GateRecord, rule: str, min_gap: pd.Timedelta
) -> tuple[bool, GateRecord | None, str | None]:
    """(gate open, the previous independent record, why the history could not be used).

    Records ``record`` whatever the rule, so switching to ``consecutive`` finds a history. An
    unusable history closes a ``consecutive`` gate (no previous evidence) and is left as it is.
    """
    try:
        records = history.load(pair)
    except ValueError as exc:
        return gate_opens(rule, record.test_passed, None), None, str(exc)
    previous = previous_independent(records, record.calibration_start, record.train_end, min_gap)
    problem = None
    try:
        history.record(pair, record)
    except OSError as exc:
        problem = f"edge gate history {history.file(pair)} not written: {exc}"
    return gate_opens(rule, record.test_passed, previous), previous, problem
