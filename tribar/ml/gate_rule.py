"""When does the edge gate open: one passing test, or two on independent calibration blocks?

Each training tests its calibration block at one-sided level alpha (``edge_gate_z`` 1.645: 5 %).
Over 14 pairs x 10 walk-forward windows, about 7 trainings pass by chance alone and trade on
noise. The ``consecutive`` rule asks for more evidence, pair by pair, so it works live where pairs
train one after another: the gate opens only when this training passes *and* the pair's previous
training whose calibration block is disjoint from this one's (their label windows do not meet)
passed too. Two tests on disjoint blocks of noise are independent, so a chance opening needs two
chance passes: about alpha^2 (0.25 %) instead of alpha.

"Previous" is the latest earlier training whose calibration block ended at least one label
horizon before this one's began, not simply the last training: with the shipped 90-day window
the calibration block is the last ~18 days of labelled rows, so in backtests (30-day slide) the
last training qualifies, but live (retraining every 24 h) consecutive blocks share ~17 of their
18 days and their tests would be nearly the same test, leaving the chance rate near alpha.

Benjamini-Hochberg across pairs was the alternative; it needs every pair's p-value of one round
at once, while live pairs train at different times and the family grows with every retraining,
so there is no point at which the rule could be applied without waiting or re-deciding old
trainings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

SINGLE = "single"
CONSECUTIVE = "consecutive"
GATE_RULES = (SINGLE, CONSECUTIVE)


@dataclass(frozen=True)
class GateRecord:
    """One training's own edge test, as the pair's gate history keeps it."""

    train_end: pd.Timestamp
    calibration_start: pd.Timestamp  # first and last row of the calibration block
    calibration_end: pd.Timestamp
    test_passed: bool  # this training's own test (edge_gate_z), whatever the rule decided
    auc: float | None
    z: float | None

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for key in ("train_end", "calibration_start", "calibration_end"):
            values[key] = values[key].isoformat()
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GateRecord:
        """Raises ValueError/KeyError/TypeError on a malformed record (the caller names it)."""
        return cls(
            train_end=_utc(values["train_end"]),
            calibration_start=_utc(values["calibration_start"]),
            calibration_end=_utc(values["calibration_end"]),
            test_passed=_bool(values["test_passed"]),
            auc=None if values.get("auc") is None else float(values["auc"]),
            z=None if values.get("z") is None else float(values["z"]),
        )


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"expected a date, got {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"test_passed must be true or false, got {value!r}")
    return value


def gate_rule(tribar_settings: Mapping[str, Any]) -> str:
    """``freqai.tribar.edge_gate_rule``; ``consecutive`` when absent or null (measured: ``single``
    opens on shuffled labels, ``consecutive`` did not in 2800 trainings; docs/strategy.md)."""
    value = tribar_settings.get("edge_gate_rule")
    if value is None:
        return CONSECUTIVE
    if value not in GATE_RULES:
        expected = f"one of {list(GATE_RULES)} or null"
        raise ValueError(f"freqai.tribar.edge_gate_rule must be {expected}, got {value!r}")
    return str(value)


def previous_independent(
    records: Iterable[GateRecord],
    calibration_start: pd.Timestamp,
    train_end: pd.Timestamp,
    min_gap: pd.Timedelta,
) -> GateRecord | None:
    """The latest record trained before ``train_end`` whose calibration block ended at least
    ``min_gap`` (the label horizon) before ``calibration_start``; None if there is none."""
    eligible = [
        r for r in records
        if r.train_end < train_end and r.calibration_end + min_gap <= calibration_start
    ]  # fmt: skip
    return max(eligible, key=lambda r: (r.calibration_end, r.train_end), default=None)


def gate_opens(rule: str, test_passed: bool, previous: GateRecord | None) -> bool:
    """The gate's decision under ``rule`` for a training whose own test gave ``test_passed``."""
    if rule == SINGLE:
        return test_passed
    if rule == CONSECUTIVE:
        return test_passed and previous is not None and previous.test_passed
    raise ValueError(f"unknown edge gate rule {rule!r}; expected one of {list(GATE_RULES)}")
