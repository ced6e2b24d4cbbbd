"""What each FreqAI training of TripleBarrierLGBM saved about itself (``tribar_metrics.json``)."""

from __future__ import annotations

import json
from pathlib import Path

METRICS_FILE = "tribar_metrics.json"


def edge_gate_openings(model_dir: Path) -> tuple[int, int] | None:
    """(gate decisions that passed, gate decisions) under a FreqAI identifier's folder; None when
    none of its trainings had a gate.

    A per-pair model decides once per training. The pooled model decides once per window and
    FreqAI saves a copy of that decision with each pair it serves: those copies count once, so
    a false-positive rate is a share of independent decisions.
    """
    decisions: dict[object, bool] = {}
    for path in sorted(model_dir.glob(f"sub-train-*/{METRICS_FILE}")):
        metrics = json.loads(path.read_text())
        gate = metrics.get("edge_gate")
        if gate is None:
            continue
        pooled = metrics.get("pooled")
        key: object = (
            ("pooled", pooled.get("window_start"), pooled.get("window_stop"))
            if isinstance(pooled, dict)
            else path
        )
        decisions[key] = bool(gate["passed"])
    return (sum(decisions.values()), len(decisions)) if decisions else None
