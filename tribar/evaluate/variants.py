"""The designs of TripleBarrierML evaluated on the standard setup: every one is reported.

A variant changes only what a run can change without touching the strategy or model files: the
FreqAI section of the config (schedule, features, LightGBM parameters), the strategy's parameter
values (a parameter file next to a byte-identical copy of the strategy) and the calibration
method (a two-line subclass of ``TripleBarrierClassifierBase`` written next to the run). The
deflated Sharpe ratio of the chosen design counts all of them as trials, so adding a variant here
is adding a trial.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tribar.evaluate.setup import REPO_ROOT, Schedule, deep_merge

# Strategy parameters that act only on entries: variants differing only in these reuse the same
# trained models and FreqAI predictions (labels and features do not depend on them).
# use_meta_label and use_kelly_sizing (TripleBarrierMLMeta): the primary-alone arm trades the
# same primary bets as the meta model, so it reuses the meta variant's models.
ENTRY_ONLY_PARAMS = frozenset(
    {"entry_threshold", "min_edge", "use_regime_filter", "use_meta_label", "use_kelly_sizing"}
)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    freqai: Mapping[str, Any] = field(default_factory=dict)  # deep-merged into config["freqai"]
    params: Mapping[str, Any] = field(default_factory=dict)  # strategy "buy" parameter values
    # Train/retrain on the setup's FreqaiExampleStrategy schedule (the speed comparison).
    baseline_schedule: bool = False
    # ProbabilityCalibrator method of the FreqAI model; None = TripleBarrierLGBM's (sigmoid).
    calibration: str | None = None
    # The strategy class, in strategies/<strategy>.py (a TripleBarrierML subclass for a design
    # that needs its own features, labels or entries).
    strategy: str = "TripleBarrierML"
    # A FreqAI model class in user_data/freqaimodels; None = config.json's (or ``calibration``'s).
    freqaimodel: str | None = None
    # Deep-merged into the top-level config (e.g. ``timeframe``), before ``freqai``.
    config: Mapping[str, Any] = field(default_factory=dict)
    # A control run, not a design (e.g. the placebo): never chosen, not counted as a trial.
    control: bool = False

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

STUDY_BEST_LGBM: Mapping[str, Any] = {
    "num_leaves": 11,
    "learning_rate": 0.034,
    "n_estimators": 163,
    "min_child_samples": 12,
    "reg_lambda": 0.028,
}
STUDY_BEST_BARRIERS: Mapping[str, Any] = {"k_tp": 6.0, "k_sl": 3.0}

# The first ten variants are the design before the edge gate (isotonic calibration, every
# trained model's probabilities used); they pin that so their rows stay what they were.
NO_GATE: Mapping[str, Any] = {"tribar": {"edge_gate_z": None}}


def _no_gate(freqai: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {**(freqai or {}), **NO_GATE}


DEFAULT = Variant(
    "default",
    "before the edge gate: train 90 d, retrain 30 d, 1h/4h/1d features, isotonic calibration",
    freqai=_no_gate(),
    calibration="isotonic",
)
BASELINE_SCHEDULE = Variant(
    "baseline-schedule",
    "`default` on FreqaiExampleStrategy's schedule (standard setup: train 60 d, retrain every "
    "14 d)",
    freqai=_no_gate(),
    calibration="isotonic",
    baseline_schedule=True,
)
EDGE_GATE = Variant(
    "edge-gate",
    "config.json as shipped: Platt calibration used only when the calibration block's AUC is "
    "above 0.5 at one-sided z >= 1.645 (label overlap counted); otherwise P = the pair's "
    "long-run take-profit rate",
)
# The shipped design on the FreqaiExampleStrategy baseline's schedule: the speed comparison.
SPEED_COMPARISON = Variant(
    "edge-gate-baseline-schedule",
    "`edge-gate` on FreqaiExampleStrategy's schedule (train 60 d, retrain every 14 d): the speed "
    "comparison",
    baseline_schedule=True,
)


def config_overlay(file_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A shipped second ``-c`` file (``config/<file_name>``) as (top-level config, FreqAI
    section): the evaluated design is the file users add, minus its comment and identifier
    (the evaluation names its own)."""
    overlay: dict[str, Any] = json.loads((REPO_ROOT / "config" / file_name).read_text())
    overlay.pop("//", None)
    freqai = dict(overlay.pop("freqai", {}))
    freqai.pop("identifier", None)
    return overlay, freqai


TIMEFRAME_4H_CONFIG, TIMEFRAME_4H_FREQAI = config_overlay("timeframe-4h.json")


def _entry(name: str, description: str, **params: Any) -> Variant:
    return Variant(name, description, freqai=_no_gate(), params=params, calibration="isotonic")


VARIANTS: tuple[Variant, ...] = (
    DEFAULT,
    BASELINE_SCHEDULE,
    _entry("thr-0.60", "`default`, entry threshold P(tp) >= 0.60", entry_threshold=0.60),
    _entry("thr-0.70", "`default`, entry threshold P(tp) >= 0.70", entry_threshold=0.70),
    _entry("edge-1pct", "`default`, expected net edge > 1 % per trade", min_edge=0.01),
    _entry(
        "no-regime", "`default` without the BTC daily-EMA regime filter", use_regime_filter=False
    ),
    Variant(
        "tf-1h4h",
        "`default` with features from 1h and 4h only (the 1d features are NaN for much of the "
        "first windows)",
        freqai=_no_gate({"feature_parameters": {"include_timeframes": ["1h", "4h"]}}),
        calibration="isotonic",
    ),
    Variant(
        "h48",
        "`default` with the vertical barrier at 48 candles instead of 24 (labels and timeout exit)",
        freqai=_no_gate({"feature_parameters": {"label_period_candles": 48}}),
        calibration="isotonic",
    ),
    Variant(
        "sigmoid",
        "`default` with Platt (sigmoid) calibration instead of isotonic (2 parameters: noise "
        "shrinks to the base rate)",
        freqai=_no_gate(),
        calibration="sigmoid",
    ),
    Variant(
        "sigmoid-strong-reg",
        "sigmoid calibration and a much simpler LightGBM (4 leaves, >= 300 rows per leaf, "
        "L2 20, half the features per tree)",
        freqai=_no_gate({"model_training_parameters": STRONG_REGULARISATION}),
        calibration="sigmoid",
    ),
    EDGE_GATE,
    Variant(
        "edge-gate-z0",
        "`edge-gate` with the gate at z >= 0: any calibration-block AUC above 0.5 passes",
        freqai={"tribar": {"edge_gate_z": 0.0}},
    ),
    SPEED_COMPARISON,
    # The model-level study's best design (docs/tuning.md, trial 39 of 40) in FreqAI's
    # walk-forward backtest: LightGBM capacity and the wide 6/3 ATR barriers it found.
    Variant(
        "study-best",
        "`edge-gate` with the model study's best design: LightGBM 11 leaves, learning rate "
        "0.034, 163 trees, >= 12 rows per leaf, L2 0.028; barriers k_tp 6 / k_sl 3 ATR",
        freqai={"model_training_parameters": STUDY_BEST_LGBM},
        params=STUDY_BEST_BARRIERS,
    ),
    Variant(
        "study-best-no-gate",
        "`study-best` without the edge gate (every trained model's probabilities used)",
        freqai={"model_training_parameters": STUDY_BEST_LGBM, "tribar": {"edge_gate_z": None}},
        params=STUDY_BEST_BARRIERS,
    ),
    # Champion/challenger (docs/lifecycle.md): a retrained model replaces the one in service only
    # when it scores no worse on the newest purged holdout. On `default`, which trades, its
    # effect shows in the trades; on `edge-gate` it adds to a gate that already keeps it flat.
    Variant(
        "default-challenger",
        "`default` with the champion/challenger gate (freqai.tribar.challenger, its defaults)",
        freqai={"tribar": {"edge_gate_z": None, "challenger": {"enabled": True}}},
        calibration="isotonic",
    ),
    Variant(
        "edge-gate-challenger",
        "`edge-gate` with the champion/challenger gate (freqai.tribar.challenger, its defaults)",
        freqai={"tribar": {"challenger": {"enabled": True}}},
    ),
    # Control: the shipped design trained on shuffled labels (freqai.tribar.placebo_shuffle_seed):
    # every edge gate opening is a false positive, measured in the same run as the designs.
    Variant(
        "edge-gate-placebo",
        "control, not a design: `edge-gate` trained on labels shuffled in blocks of H candles "
        "(placebo seed 1); every gate opening is a false positive",
        freqai={"tribar": {"placebo_shuffle_seed": 1}},
        control=True,
    ),
    # --- issue 15, second round -----------------------------------------------------------
    # (pooled cross-pair model)
    # TripleBarrierMLPooled + TripleBarrierLGBMPooled (tribar.designs.pooled_model): one model
    # per walk-forward window trained on every whitelisted pair's rows (pair-normalised
    # features, cross-sectional ranks, BTC/ETH context), served to each pair. The pooled gate
    # counts a timestamp's whole cross-section as one outcome (gate_pair_correlation 1).
    Variant(
        "pooled",
        "one LightGBM per window on the rows of all whitelisted pairs (ATR-unit returns and "
        "ranges, z-scores, cross-sectional ranks, BTC/ETH context), served to every pair; "
        "Platt calibration and the shipped edge gate",
        strategy="TripleBarrierMLPooled",
        freqaimodel="TripleBarrierLGBMPooled",
    ),
    Variant(
        "pooled-no-gate",
        "`pooled` without the edge gate (the pooled model's calibrated probabilities always used)",
        freqai={"tribar": {"edge_gate_z": None}},
        strategy="TripleBarrierMLPooled",
        freqaimodel="TripleBarrierLGBMPooled",
    ),
    Variant(
        "pooled-expanding",
        "`pooled` trained on all history from the data start to each window end (purge and "
        "embargo at the cuts as before)",
        freqai={"tribar": {"pooled": {"expanding_history": True}}},
        strategy="TripleBarrierMLPooled",
        freqaimodel="TripleBarrierLGBMPooled",
    ),
    Variant(
        "pooled-baseline-schedule",
        "`pooled` on FreqaiExampleStrategy's schedule (train 60 d, retrain every 14 d)",
        strategy="TripleBarrierMLPooled",
        freqaimodel="TripleBarrierLGBMPooled",
        baseline_schedule=True,
    ),
    # (slower horizons) The 1h design's features, labels and exits on 4h candles
    # (config/timeframe-4h.json): fees are ~0.08 ATR instead of ~0.17, but a 90-day window holds
    # 45 two-day outcomes per pair instead of ~90 one-day ones. A 1d base is not run: 90 daily
    # rows per pair per window is under min_training_rows (200), and the bundled data holds only
    # 108 days before the standard period (docs/strategy.md, "Slower horizons").
    Variant(
        "tf-4h",
        "`edge-gate` on 4h candles (config/timeframe-4h.json): 4h/1d features, vertical barrier "
        "12 candles (2 days), embargo 12, ATR baseline 84 candles (14 days)",
        freqai=TIMEFRAME_4H_FREQAI,
        config=TIMEFRAME_4H_CONFIG,
    ),
    Variant(
        "tf-4h-no-gate",
        "`tf-4h` without the edge gate (every trained model's probabilities used)",
        freqai=deep_merge(TIMEFRAME_4H_FREQAI, NO_GATE),
        config=TIMEFRAME_4H_CONFIG,
    ),
    Variant(
        "tf-4h-baseline-schedule",
        "`tf-4h` on FreqaiExampleStrategy's schedule (train 60 d, retrain every 14 d)",
        freqai=TIMEFRAME_4H_FREQAI,
        config=TIMEFRAME_4H_CONFIG,
        baseline_schedule=True,
    ),
    # (meta-labelling over a primary trend signal)
    # TripleBarrierMLMeta (tribar.designs.primary_signals): the classifier trained only on the
    # primary's bets decides which to take; the primary-* arms trade every bet with fixed stakes
    # on the same models (use_meta_label and use_kelly_sizing are entry-only).
    Variant(
        "meta-tsmom",
        "meta-labelling: `edge-gate` trained only on the bets of a 21-day time-series momentum "
        "signal (close above the close 504 candles ago, BTC regime on); entries need the primary "
        "and the model",
        strategy="TripleBarrierMLMeta",
    ),
    Variant(
        "meta-donchian",
        "meta-labelling: `edge-gate` trained only on the bets of a Donchian breakout position "
        "(on from a close above the previous 120 candles' high to a close below the previous 60 "
        "candles' low, BTC regime on)",
        strategy="TripleBarrierMLMeta",
        params={"primary_signal": "donchian"},
    ),
    Variant(
        "primary-tsmom",
        "the primary of `meta-tsmom` alone: every momentum bet in the regime, fixed stakes (the "
        "meta model's models, not traded on)",
        strategy="TripleBarrierMLMeta",
        params={"use_meta_label": False, "use_kelly_sizing": False},
    ),
    Variant(
        "primary-donchian",
        "the primary of `meta-donchian` alone: every breakout-position candle in the regime, "
        "fixed stakes",
        strategy="TripleBarrierMLMeta",
        params={"primary_signal": "donchian", "use_meta_label": False, "use_kelly_sizing": False},
    ),
    Variant(
        "meta-tsmom-no-gate",
        "`meta-tsmom` without the edge gate (every trained model's probabilities used)",
        strategy="TripleBarrierMLMeta",
        freqai={"tribar": {"edge_gate_z": None}},
    ),
    Variant(
        "meta-tsmom-baseline-schedule",
        "`meta-tsmom` on FreqaiExampleStrategy's schedule (train 60 d, retrain every 14 d)",
        strategy="TripleBarrierMLMeta",
        baseline_schedule=True,
    ),
    # Controls: each second-round gate on shuffled labels (as `edge-gate-placebo`), so its
    # false-positive rate is measured on its own design: the pooled gate's cross-pair count,
    # the 4h gate's fewer, longer outcomes and the meta gate's bets-only calibration block.
    Variant(
        "pooled-placebo",
        "control, not a design: `pooled` trained on labels shuffled in blocks of H timestamps, "
        "one permutation for every pair (placebo seed 1)",
        freqai={"tribar": {"placebo_shuffle_seed": 1}},
        strategy="TripleBarrierMLPooled",
        freqaimodel="TripleBarrierLGBMPooled",
        control=True,
    ),
    Variant(
        "tf-4h-placebo",
        "control, not a design: `tf-4h` trained on labels shuffled in blocks of H candles "
        "(placebo seed 1)",
        freqai=deep_merge(TIMEFRAME_4H_FREQAI, {"tribar": {"placebo_shuffle_seed": 1}}),
        config=TIMEFRAME_4H_CONFIG,
        control=True,
    ),
    Variant(
        "meta-tsmom-placebo",
        "control, not a design: `meta-tsmom` trained on its bets' labels shuffled in blocks of "
        "H bets (placebo seed 1)",
        freqai={"tribar": {"placebo_shuffle_seed": 1}},
        strategy="TripleBarrierMLMeta",
        control=True,
    ),
)
# --quick: the chosen design and one more, so the report still has a trial count and variance.
QUICK_VARIANTS = ("edge-gate", "default")


def by_name(names: Sequence[str]) -> list[Variant]:
    known = {v.name: v for v in VARIANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {sorted(known)}")
    return [known[n] for n in names]
