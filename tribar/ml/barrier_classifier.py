"""The trained artefact FreqAI saves per pair and training: LightGBM + calibrator + metrics.

It lives in the installed package (not in the FreqAI model file, which Freqtrade loads by path)
so joblib can unpickle it in any later process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from tribar.calibration import ProbabilityCalibrator, calibration_table, expected_calibration_error

TAKE_PROFIT = "tp"
NO_TAKE_PROFIT = "no_tp"
# Backtest prediction column: the same model's calibrated P(take-profit) with the edge gate off,
# so one backtest can compare the gated strategy with trading every model's probabilities.
TAKE_PROFIT_GATE_OFF = "tp_gate_off"


@dataclass
class BarrierClassifier:
    """P(take-profit first) for a triple-barrier trade: scikit-learn's predict/predict_proba
    surface, so FreqAI's classifier plumbing (classes_, probability columns) works unchanged.
    ``predict_proba`` returns *calibrated* probabilities."""

    booster: Any | None
    calibrator: ProbabilityCalibrator
    feature_names: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    # Set when the model showed no edge out of its training block (tribar.ml.edge_gate): every
    # prediction is then this long-run take-profit rate. (A class-level default, so models
    # pickled before this field existed load with None.)
    no_edge_rate: float | None = None
    classes_: npt.NDArray[np.str_] = field(
        default_factory=lambda: np.array([NO_TAKE_PROFIT, TAKE_PROFIT])
    )

    @classmethod
    def untrained(cls, reason: str, feature_names: list[str]) -> BarrierClassifier:
        """A model that answers NaN (never an entry): for windows that could not be trained.
        FreqAI's fallback for a failed training crashes on classifiers, so training degrades
        to this instead of raising."""
        return cls(None, ProbabilityCalibrator(), feature_names, metrics={"untrained": reason})

    def raw_probability(self, features: pd.DataFrame | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        x = features.to_numpy() if isinstance(features, pd.DataFrame) else np.asarray(features)
        if self.booster is None:
            return np.full(len(x), np.nan)
        if len(x) == 0:
            return np.empty(0)
        proba = self.booster.predict_proba(x)
        tp_column = list(self.booster.classes_).index(1)
        return np.asarray(proba[:, tp_column], dtype=np.float64)

    def calibrated_probability(
        self, features: pd.DataFrame | npt.NDArray[Any]
    ) -> npt.NDArray[np.float64]:
        """The booster's calibrated P(take-profit), whatever the edge gate decided (NaN for an
        untrained model)."""
        raw = self.raw_probability(features)
        return raw if self.booster is None else self.calibrator.predict(raw)

    def predict_proba(self, features: pd.DataFrame | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        if self.booster is not None and self.no_edge_rate is not None:
            p = np.full(len(features), self.no_edge_rate)
        else:
            p = self.calibrated_probability(features)
        return np.column_stack([1.0 - p, p])

    def predict(self, features: pd.DataFrame | npt.NDArray[Any]) -> npt.NDArray[np.str_]:
        p = self.predict_proba(features)[:, 1]
        return np.where(p >= 0.5, TAKE_PROFIT, NO_TAKE_PROFIT)


def classification_metrics(
    y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], n_bins: int = 10
) -> dict[str, Any]:
    """AUC, log-loss, Brier, ECE and a calibration table; AUC is None when y has one class."""
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    two_classes = len(np.unique(y)) == 2
    return {
        "n": len(y),
        "base_rate": float(y.mean()) if len(y) else None,
        "auc": float(roc_auc_score(y, p)) if two_classes else None,
        "log_loss": float(log_loss(y, p, labels=[0, 1])) if len(y) else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
        "ece": float(expected_calibration_error(y, p, n_bins=n_bins)) if len(y) else None,
        "calibration_table": calibration_table(y, p, n_bins=n_bins).to_dict(orient="records")
        if len(y)
        else [],
    }
