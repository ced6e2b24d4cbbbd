"""The demo's closing lines: trade count and the edge gate's decisions, from real files."""

from __future__ import annotations

import json
from pathlib import Path

from tribar.demo import _gate_line


def test_gate_line_counts_the_trainings_of_the_configured_identifier(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"user_data_dir": str(tmp_path), "freqai": {"identifier": "demo-id"}})
    )
    assert _gate_line(str(config)).startswith("off (no gated training")
    for i, passed in enumerate([False, True, False]):
        folder = tmp_path / "models" / "demo-id" / f"sub-train-BTC_{i}"
        folder.mkdir(parents=True)
        (folder / "tribar_metrics.json").write_text(json.dumps({"edge_gate": {"passed": passed}}))
    assert _gate_line(str(config)).startswith("1 of 3 trainings under")
