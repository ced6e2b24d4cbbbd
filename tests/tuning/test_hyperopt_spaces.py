"""A real offline hyperopt of TripleBarrierML's ``sizing`` and ``protection`` spaces
(``--spaces sizing protection``): Freqtrade moves the parameters within their ranges, every
epoch's protections and stakes follow its parameters, and the exported parameter file holds
both spaces while the entry parameters in service stay as they were."""

from __future__ import annotations

import json
import re
import shutil
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.strategies.TripleBarrierML import TripleBarrierML

pytestmark = pytest.mark.freqtrade

# Entries that trade on the gate-off probabilities, so epochs have trades to size and lock.
IN_SERVICE = {"entry_threshold": 0.3, "min_edge": 0.0, "use_regime_filter": False}
SPACES = ("sizing", "protection")
COOLDOWN = re.compile(r"Cooldown period for for (\d+) minutes")


def _ranges(space: str) -> dict[str, tuple[float, float]]:
    return {
        name: (float(p.low), float(p.high))  # type: ignore[attr-defined]
        for name, p in vars(TripleBarrierML).items()
        if getattr(p, "space", None) == space and getattr(p, "optimize", False)
    }


def _in_range(values: dict[str, Any], space: str) -> None:
    ranges = _ranges(space)
    assert set(values) == set(ranges), (space, values)
    for name, value in values.items():
        low, high = ranges[name]
        assert low - 1e-9 <= value <= high + 1e-9, (name, value, ranges[name])


def test_hyperopt_moves_the_sizing_and_protection_spaces(tmp_path: Path) -> None:
    assert len(_ranges("sizing")) == 2 and len(_ranges("protection")) == 7
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    shutil.copy2(REPO_ROOT / "strategies" / "TripleBarrierML.py", strategies)
    param_file = strategies / "TripleBarrierML.json"
    param_file.write_text(
        json.dumps({"strategy_name": "TripleBarrierML", "params": {"buy": IN_SERVICE}})
    )
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    result = run_tribar(
        "ft", "hyperopt", "-c", "config.json", "-c", "config/edge-gate-off.json",
        "-c", "tests/tuning/hyperopt-spaces-small.json",
        "--strategy", "TripleBarrierML", "--strategy-path", str(strategies),
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"),
        "--hyperopt-loss", "TribarSharpeDrawdownLoss", "--spaces", *SPACES, "-e", "3", "-j", "2",
        "--timerange", "20250801-20250815", "--random-state", "7",
        env={"FREQTRADE__TRIBAR__HYPEROPT_LOSS__MIN_TRADES": "3"},
        timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Could not pickle" not in output

    [results_file] = (userdir / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line) for line in results_file.read_text().splitlines()]
    assert len(epochs) == 3
    first_stakes: list[tuple[float, float, float, tuple[str, int]]] = []
    for epoch in epochs:
        params = epoch["params_dict"]
        for space in SPACES:
            _in_range({k: v for k, v in params.items() if k in _ranges(space)}, space)
        metrics = epoch["results_metrics"]
        # Freqtrade turns protections on for the protection space; each epoch's cooldown lock
        # lasts what that epoch's parameter says.
        assert metrics["enable_protections"] is True
        reasons = [lock["reason"] for lock in metrics["locks"]]
        cooldowns = {int(m[1]) for m in map(COOLDOWN.search, reasons) if m}
        assert cooldowns <= {params["protection_cooldown_hours"] * 60}, (cooldowns, params)
        trades = metrics["trades"]
        assert trades, "an epoch without trades sizes nothing"
        first = min(trades, key=lambda t: t["open_timestamp"])
        first_stakes.append(
            (params["sizing_kelly_multiplier"], params["sizing_vol_scale_max_multiplier"],
             float(first["stake_amount"]), (first["pair"], first["open_timestamp"]))
        )  # fmt: skip
    assert any(metrics["locks"] for metrics in (e["results_metrics"] for e in epochs))
    # The knobs moved: not every epoch drew the same values.
    assert len({(k, v) for k, v, _, _ in first_stakes}) == 3
    # Two epochs' first trades on the same signal are sized on the same fresh account (no
    # closed trade yet): an epoch whose knobs are both at least the other's cannot stake less.
    dominated = [
        (a, b) for a, b in permutations(first_stakes, 2)
        if a[3] == b[3] and a[0] >= b[0] and a[1] >= b[1]
    ]  # fmt: skip
    assert dominated, first_stakes
    for a, b in dominated:
        assert a[2] >= b[2], (a, b)

    exported = json.loads(param_file.read_text())["params"]
    for space in SPACES:
        _in_range(exported[space], space)
    # The space not hyperopted is exported as it was in service.
    assert {k: exported["buy"][k] for k in IN_SERVICE} == IN_SERVICE
    best = [e for e in epochs if e["is_best"]][-1]["params_dict"]
    assert exported["sizing"] == {k: pytest.approx(best[k]) for k in _ranges("sizing")}
