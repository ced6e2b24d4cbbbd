"""The designs of TripleBarrierML evaluated on the standard setup: every one is reported.

A variant changes only what a run can change without touching the strategy or model files: the
FreqAI section of the config (schedule, features, LightGBM parameters), the strategy's parameter
values (a parameter file next to a byte-identical copy of the strategy) and the calibration
method (a two-line subclass of ``TripleBarrierClassifierBase`` written next to the run). The
deflated Sharpe ratio of the chosen design counts all of them as trials, so adding a variant here
is adding a trial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tribar.evaluate.setup import Schedule

# Strategy parameters that act only on entries: variants differing only in these reuse the same
# trained models and FreqAI predictions (labels and features do not depend on them).
ENTRY_ONLY_PARAMS = frozenset({"entry_threshold", "min_edge", "use_regime_filter"})


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    freqai: Mapping[str, Any] = field(default_factory=dict)  # deep-merged into config["freqai"]
    params: Mapping[str, Any] = field(default_factory=dict)  # strategy "buy" parameter values
    # Train/retrain on the setup's FreqaiExampleStrategy schedule (the speed comparison).
    baseline_schedule: bool = False
    # ProbabilityCalibrator method of the FreqAI model; None = TripleBarrierLGBM's (isotonic).
    calibration: str | None = None

    def freqai_overrides(self, baseline: Schedule) -> dict[str, Any]:
        schedule = schedule_overrides(baseline) if self.baseline_schedule else {}
        return {**self.freqai, **schedule}

    def model_params(self) -> dict[str, Any]:
        """The parameters that change what the model learns (labels, features)."""
        return {k: v for k, v in sorted(self.params.items()) if k not in ENTRY_ONLY_PARAMS}


def schedule_overrides(schedule: Schedule) -> dict[str, Any]:
    return {"train_period_days": schedule.train_days, "backtest_period_days": schedule.retrain_days}


STRONG_REGULARISATION = {
    "num_leaves": 4,
    "min_child_samples": 300,
    "reg_lambda": 20.0,
    "colsample_bytree": 0.5,
}

DEFAULT = Variant("default", "config.json as shipped: train 90 d, retrain 30 d, 1h/4h/1d features")
# Same schedule as the FreqaiExampleStrategy baseline: the speed comparison of the issue.
BASELINE_SCHEDULE = Variant(
    "baseline-schedule",
    "FreqaiExampleStrategy's schedule (standard setup: train 60 d, retrain every 14 d)",
    baseline_schedule=True,
)

VARIANTS: tuple[Variant, ...] = (
    DEFAULT,
    BASELINE_SCHEDULE,
    Variant("thr-0.60", "entry threshold P(tp) >= 0.60", params={"entry_threshold": 0.60}),
    Variant("thr-0.70", "entry threshold P(tp) >= 0.70", params={"entry_threshold": 0.70}),
    Variant("edge-1pct", "expected net edge > 1 % per trade", params={"min_edge": 0.01}),
    Variant(
        "no-regime",
        "without the BTC daily-EMA regime filter",
        params={"use_regime_filter": False},
    ),
    Variant(
        "tf-1h4h",
        "features from 1h and 4h only (the 1d features are NaN for much of the first windows)",
        freqai={"feature_parameters": {"include_timeframes": ["1h", "4h"]}},
    ),
    Variant(
        "h48",
        "vertical barrier 48 candles instead of 24 (labels and timeout exit)",
        freqai={"feature_parameters": {"label_period_candles": 48}},
    ),
    Variant(
        "sigmoid",
        "Platt (sigmoid) calibration instead of isotonic (2 parameters: noise shrinks to the "
        "base rate)",
        calibration="sigmoid",
    ),
    Variant(
        "sigmoid-strong-reg",
        "sigmoid calibration and a much simpler LightGBM (4 leaves, >= 300 rows per leaf, "
        "L2 20, half the features per tree)",
        freqai={"model_training_parameters": STRONG_REGULARISATION},
        calibration="sigmoid",
    ),
)
# --quick: the chosen design and one more, so the report still has a trial count and variance.
QUICK_VARIANTS = ("default", "thr-0.60")


def by_name(names: Sequence[str]) -> list[Variant]:
    known = {v.name: v for v in VARIANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]
