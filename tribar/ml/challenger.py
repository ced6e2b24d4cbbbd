"""Champion/challenger: does a freshly trained model (the challenger) deserve to replace the model
in service (the incumbent)? Pure functions; tribar.ml.freqai_model is the FreqAI adapter.

Both models are scored on the same rows: the newest purged block of the challenger's training
window (its calibration block, which the booster never trained on), restricted to rows dated
after the incumbent's training window plus an embargo, so neither model has seen their labels.
AUC and log-loss come from the boosters' raw scores: the challenger's calibrator was fitted on
these rows, so a calibrated log-loss would flatter the challenger.

The challenger is rejected when its AUC is below ``min_auc`` (judged alone, on its whole holdout),
or, when enough shared rows exist, when its AUC trails the incumbent's by more than ``tolerance``
or its log-loss exceeds the incumbent's by more than ``log_loss_tolerance``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import log_loss, roc_auc_score

# In-sample vs out-of-sample gap above which a training is flagged as overfitted.
OVERFIT_GAP = 0.10

CONFIG_KEY = "freqai.tribar.challenger"


@dataclass(frozen=True)
class ChallengerSettings:
    enabled: bool = False
    min_auc: float = 0.5
    tolerance: float = 0.01  # AUC points the challenger may trail the incumbent by
    log_loss_tolerance: float = 0.01  # log-loss (nats) the challenger may exceed it by
    min_shared_rows: int = 100  # fewer shared holdout rows: no comparison, floor only
    keep_versions: int = 5  # registry versions whose model files are kept (plus serving/pinned)

    @classmethod
    def from_config(cls, value: Any) -> ChallengerSettings:
        """``freqai.tribar.challenger`` (a dict, or absent/None for the defaults)."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(f"{CONFIG_KEY} must be an object, got {value!r}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{CONFIG_KEY}: unknown key(s) {unknown}; expected {sorted(known)}")
        out: dict[str, Any] = {}
        for key, raw in value.items():
            default = getattr(cls, key)
            if isinstance(default, bool):
                if not isinstance(raw, bool):
                    raise ValueError(f"{CONFIG_KEY}.{key} must be true or false, got {raw!r}")
            elif isinstance(default, int):
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                    raise ValueError(f"{CONFIG_KEY}.{key} must be an integer >= 1, got {raw!r}")
            elif isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
                raise ValueError(f"{CONFIG_KEY}.{key} must be a number >= 0, got {raw!r}")
            out[key] = raw
        settings = cls(**out)
        if settings.min_auc > 1:
            raise ValueError(f"{CONFIG_KEY}.min_auc must be at most 1, got {settings.min_auc}")
        return settings


@dataclass(frozen=True)
class Scores:
    rows: int
    auc: float | None  # None with one class
    log_loss: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score(y: npt.ArrayLike, p: npt.ArrayLike) -> Scores:
    """AUC and log-loss of raw probabilities ``p`` for 0/1 labels ``y``."""
    labels = np.asarray(y, dtype=int)
    probs = np.asarray(p, dtype=float)
    if labels.shape != probs.shape:
        raise ValueError(f"y has {labels.size} rows but p has {probs.size}")
    if labels.size == 0:
        return Scores(0, None, None)
    if not np.all(np.isfinite(probs)):
        raise ValueError("probabilities contain NaN or infinite values")
    probs = np.clip(probs, 1e-6, 1 - 1e-6)
    auc = float(roc_auc_score(labels, probs)) if np.unique(labels).size == 2 else None
    return Scores(int(labels.size), auc, float(log_loss(labels, probs, labels=[0, 1])))


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reasons: list[str]
    candidate: Scores  # on its whole holdout
    candidate_shared: Scores | None  # on the rows shared with the incumbent
    incumbent_shared: Scores | None
    incumbent_version: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        verdict = "accepted" if self.accepted else "rejected"
        return f"{verdict}: {'; '.join(self.reasons)}"


def decide(
    candidate: Scores,
    candidate_shared: Scores | None,
    incumbent_shared: Scores | None,
    incumbent_version: int | None,
    settings: ChallengerSettings,
) -> Decision:
    """Accept or reject a challenger; every reason is a sentence with the numbers behind it."""
    reasons: list[str] = []
    accepted = True
    if candidate.auc is None:
        accepted = False
        reasons.append(f"holdout AUC undefined ({candidate.rows} rows, one class)")
    elif candidate.auc < settings.min_auc:
        accepted = False
        reasons.append(f"holdout AUC {candidate.auc:.3f} below the floor {settings.min_auc:.3f}")
    else:
        reasons.append(f"holdout AUC {candidate.auc:.3f} >= floor {settings.min_auc:.3f}")
    if incumbent_version is None:
        reasons.append("no incumbent")
    elif (
        candidate_shared is None
        or incumbent_shared is None
        or candidate_shared.rows < settings.min_shared_rows
    ):
        rows = 0 if candidate_shared is None else candidate_shared.rows
        reasons.append(
            f"not compared with v{incumbent_version}: {rows} holdout rows after its training "
            f"window, need {settings.min_shared_rows}"
        )
    else:
        c_auc, i_auc = candidate_shared.auc, incumbent_shared.auc
        if c_auc is not None and i_auc is not None:
            if c_auc < i_auc - settings.tolerance:
                accepted = False
                reasons.append(
                    f"AUC {c_auc:.3f} worse than v{incumbent_version}'s {i_auc:.3f} by more than "
                    f"{settings.tolerance:.3f} on {candidate_shared.rows} shared rows"
                )
            else:
                reasons.append(f"AUC {c_auc:.3f} vs v{incumbent_version}'s {i_auc:.3f}")
        c_ll, i_ll = candidate_shared.log_loss, incumbent_shared.log_loss
        if c_ll is not None and i_ll is not None:
            if c_ll > i_ll + settings.log_loss_tolerance:
                accepted = False
                reasons.append(
                    f"log-loss {c_ll:.4f} worse than v{incumbent_version}'s {i_ll:.4f} by more "
                    f"than {settings.log_loss_tolerance:.4f}"
                )
            else:
                reasons.append(f"log-loss {c_ll:.4f} vs v{incumbent_version}'s {i_ll:.4f}")
    return Decision(
        accepted, reasons, candidate, candidate_shared, incumbent_shared, incumbent_version
    )


def overfitting_gap(
    in_sample: dict[str, Any], out_of_sample: dict[str, Any], threshold: float = OVERFIT_GAP
) -> dict[str, Any]:
    """Relative gap between in-sample and out-of-sample AUC and log-loss.

    AUC gap = (AUC_in - AUC_out) / AUC_in; log-loss gap = (LL_out - LL_in) / LL_in: positive
    when the model looks better on rows it trained on. ``warning`` when either exceeds
    ``threshold`` (10 %).
    """

    def relative(numerator: float | None, denominator: float | None) -> float | None:
        if numerator is None or denominator is None or denominator == 0:
            return None
        return float(numerator / denominator)

    auc_in, auc_out = in_sample.get("auc"), out_of_sample.get("auc")
    ll_in, ll_out = in_sample.get("log_loss"), out_of_sample.get("log_loss")
    auc_gap = relative(None if auc_in is None or auc_out is None else auc_in - auc_out, auc_in)
    ll_gap = relative(None if ll_in is None or ll_out is None else ll_out - ll_in, ll_in)
    warning = any(g is not None and g > threshold for g in (auc_gap, ll_gap))
    return {
        "in_sample": {"auc": auc_in, "log_loss": ll_in},
        "out_of_sample": {"auc": auc_out, "log_loss": ll_out},
        "auc_gap": auc_gap,
        "log_loss_gap": ll_gap,
        "threshold": threshold,
        "warning": warning,
    }
