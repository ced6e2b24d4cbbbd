"""What each FreqAI training of TripleBarrierLGBM saved about itself (``tribar_metrics.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METRICS_FILE = "tribar_metrics.json"


# The pooled model's "pair" in its gate decisions and gate history (the consecutive rule).
POOLED_GATE_PAIR = "POOLED"


def gate_decisions(model_dir: Path) -> list[dict[str, Any]]:
    """Each independent edge gate decision under a FreqAI identifier's folder: its saved
    ``edge_gate`` block, with ``pair`` added (``POOLED`` for the pooled model).

    A per-pair model decides once per training. The pooled model decides once per window and
    FreqAI saves a copy of that decision with each pair it serves: those copies count once, so
    a false-positive rate is a share of independent decisions.
    """
    decisions: dict[object, dict[str, Any]] = {}
    for path in sorted(model_dir.glob(f"sub-train-*/{METRICS_FILE}")):
        metrics = json.loads(path.read_text())
        gate = metrics.get("edge_gate")
        if gate is None:
            continue
        pooled = metrics.get("pooled")
        if isinstance(pooled, dict):
            key: object = ("pooled", pooled.get("window_start"), pooled.get("window_stop"))
            decisions.setdefault(key, {**gate, "pair": POOLED_GATE_PAIR})
        else:
            decisions[path] = {**gate, "pair": metrics.get("pair")}
    return list(decisions.values())


def edge_gate_openings(model_dir: Path) -> tuple[int, int] | None:
    """(gate decisions that passed, gate decisions) under a FreqAI identifier's folder
    (``gate_decisions``); None when none of its trainings had a gate."""
    passed = [bool(d["passed"]) for d in gate_decisions(model_dir)]
    return (sum(passed), len(passed)) if passed else None
