"""Does a freshly trained model show an edge on data it did not train on? If not, stay flat.

On the dev data the in-window validation AUC of a LightGBM barrier model says almost nothing about
its out-of-sample AUC (docs/results.md), and calibrators fitted on the same window learn its
noise. So a model has to *earn* a probability that differs from the base rate: its raw scores on
the calibration block (after training and early stopping, before any calibration) must separate
take-profit from the rest by more than chance, with a standard error that admits the overlap of
triple-barrier labels (neighbouring rows share up to ``H`` candles of outcome, so ``n`` rows carry
about ``n / H`` independent outcomes). A model that fails predicts the long-run take-profit rate.

The AUC's standard error is Hanley & McNeil's (1982) formula with those effective class counts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class EdgeEvidence:
    auc: float | None  # of the raw scores on the held-out block; None with one class
    standard_error: float | None
    z: float | None  # (auc - 0.5) / standard_error
    effective_positives: float
    effective_negatives: float
    z_required: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def auc_standard_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley & McNeil (1982), for (possibly fractional) effective class counts >= 1."""
    if positives < 1 or negatives < 1:
        raise ValueError(f"need >= 1 effective row per class, got {positives}, {negatives}")
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (positives - 1.0) * (q1 - auc * auc)
        + (negatives - 1.0) * (q2 - auc * auc)
    ) / (positives * negatives)  # fmt: skip
    return math.sqrt(max(variance, 0.0))


def edge_evidence(
    y: npt.ArrayLike, scores: npt.ArrayLike, overlap: int, z_required: float
) -> EdgeEvidence:
    """One-sided test of "the scores rank take-profit rows above the others" on held-out rows.

    ``overlap``: rows per independent outcome (the label horizon ``H`` for overlapping labels).
    """
    if overlap < 1:
        raise ValueError(f"overlap must be >= 1 row, got {overlap}")
    labels = np.asarray(y, dtype=int)
    values = np.asarray(scores, dtype=float)
    if labels.shape != values.shape:
        raise ValueError(f"y has {labels.size} rows but scores has {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores contain NaN or infinite values")
    positives = float(labels.sum()) / overlap
    negatives = float((labels == 0).sum()) / overlap
    if positives < 1 or negatives < 1 or np.unique(labels).size < 2:
        return EdgeEvidence(None, None, None, positives, negatives, z_required, passed=False)
    auc = float(roc_auc_score(labels, values))
    se = auc_standard_error(auc, positives, negatives)
    z = (auc - 0.5) / se if se > 0 else (math.inf if auc > 0.5 else -math.inf)
    return EdgeEvidence(auc, se, z, positives, negatives, z_required, passed=z >= z_required)
