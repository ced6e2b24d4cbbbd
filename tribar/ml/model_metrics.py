"""What each FreqAI training of TripleBarrierLGBM saved about itself (``tribar_metrics.json``)."""

from __future__ import annotations

import json
from pathlib import Path

METRICS_FILE = "tribar_metrics.json"


def edge_gate_openings(model_dir: Path) -> tuple[int, int] | None:
    """(trainings whose edge gate passed, trainings the gate judged) under a FreqAI identifier's
    folder; None when none of its trainings had a gate."""
    decisions = []
    for path in sorted(model_dir.glob(f"sub-train-*/{METRICS_FILE}")):
        gate = json.loads(path.read_text()).get("edge_gate")
        if gate is not None:
            decisions.append(bool(gate["passed"]))
    return (sum(decisions), len(decisions)) if decisions else None
