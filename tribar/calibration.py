"""Calibration of predicted take-profit probabilities: measure it (ECE) and fix it.

Position sizing (Kelly) multiplies by the predicted probability, so a model that says 0.6 when
the realised rate is 0.45 over-bets. Boosted trees are usually mis-calibrated, hence a separate
calibrator fitted on held-out predictions.

ECE (Naeini et al., 2015; Guo et al., 2017) is ``sum_b (n_b / N) * |mean_p_b - rate_b|`` over
bins ``b`` of predicted probability. Default bins are deciles of the predictions ("quantile"),
so each bin has the same weight even when predictions cluster near the base rate.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

FloatArray = npt.NDArray[np.float64]
BinStrategy = Literal["quantile", "uniform"]


def _check_probabilities(p: npt.ArrayLike, name: str = "p") -> FloatArray:
    values = np.asarray(p, dtype=np.float64).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite values; drop unlabeled rows first")
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1]")
    return values


def _check_binary(y: npt.ArrayLike, n: int) -> FloatArray:
    values = np.asarray(y, dtype=np.float64).ravel()
    if values.shape != (n,):
        raise ValueError(f"y_true has {values.size} values but p has {n}")
    if not np.all((values == 0.0) | (values == 1.0)):
        raise ValueError("y_true must contain only 0 and 1 (NaN labels must be dropped first)")
    return values


def _bin_ids(
    p: FloatArray, n_bins: int, strategy: BinStrategy
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Bin of each prediction and the bin edges (ascending, length = number of bins + 1)."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}")
    if strategy == "quantile":
        # Tied predictions make quantile edges coincide; merging them keeps ties in one bin
        # instead of splitting equal predictions across bins by their (arbitrary) order.
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    # Bins are [e_i, e_{i+1}) except the last, which is closed so that p == 1 (or max p) fits.
    ids = np.searchsorted(edges[1:-1], p, side="right")
    return ids, edges


def calibration_table(
    y_true: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "quantile",
) -> pd.DataFrame:
    """Reliability table, one row per non-empty bin of predicted probability.

    Columns: ``bin``, ``p_low``/``p_high`` (bin edges), ``count``, ``mean_predicted``,
    ``realised_rate`` and ``abs_gap = |mean_predicted - realised_rate|``.
    """
    probs = _check_probabilities(p)
    if probs.size == 0:
        raise ValueError("calibration needs at least one prediction")
    labels = _check_binary(y_true, probs.size)
    ids, edges = _bin_ids(probs, n_bins, strategy)
    n_edges = edges.size - 1
    count = np.bincount(ids, minlength=n_edges)
    sum_p = np.bincount(ids, weights=probs, minlength=n_edges)
    sum_y = np.bincount(ids, weights=labels, minlength=n_edges)
    used = count > 0
    mean_p = sum_p[used] / count[used]
    rate = sum_y[used] / count[used]
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(used),
            "p_low": edges[:-1][used],
            "p_high": edges[1:][used],
            "count": count[used],
            "mean_predicted": mean_p,
            "realised_rate": rate,
            "abs_gap": np.abs(mean_p - rate),
        }
    )


def expected_calibration_error(
    y_true: npt.ArrayLike,
    p: npt.ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "quantile",
) -> float:
    """Count-weighted mean of ``|mean predicted - realised rate|`` over bins (0 = calibrated).

    Finite samples give a positive ECE even for a perfectly calibrated model (roughly
    ``sqrt(p(1-p) / n_per_bin)`` per bin), so compare models on the same data and bins.
    """
    table = calibration_table(y_true, p, n_bins=n_bins, strategy=strategy)
    weights = table["count"].to_numpy(dtype=np.float64)
    return float(np.sum(weights * table["abs_gap"].to_numpy()) / np.sum(weights))


def _logit(p: FloatArray, eps: float) -> FloatArray:
    q = np.clip(p, eps, 1.0 - eps)
    return np.log(q / (1.0 - q))


class ProbabilityCalibrator(BaseEstimator):
    """Maps raw model probabilities to calibrated ones; fit on data the model did not train on.

    ``method="isotonic"``: non-decreasing step function (flexible, needs a few hundred rows).
    ``method="sigmoid"``: Platt scaling on the logit, ``sigmoid(a * logit(p) + b)`` (two
    parameters, robust on small sets; ``a = 1, b = 0`` is the identity).

    With fewer than ``min_samples`` rows or only one class there is nothing to learn a mapping
    from, so the calibrator predicts the base rate of ``y`` for every input (``fallback_`` is
    then True). Outputs are clipped to ``[eps, 1 - eps]`` so downstream logs and Kelly fractions
    stay finite.
    """

    def __init__(
        self,
        method: str = "isotonic",
        min_samples: int = 50,
        eps: float = 1e-6,
    ) -> None:
        self.method = method
        self.min_samples = min_samples
        self.eps = eps

    def _check_params(self) -> None:
        if self.method not in ("isotonic", "sigmoid"):
            raise ValueError(f"method must be 'isotonic' or 'sigmoid', got {self.method!r}")
        if not (0.0 < self.eps < 0.5):
            raise ValueError(f"eps must be in (0, 0.5), got {self.eps!r}")
        if self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {self.min_samples!r}")

    def fit(self, p_raw: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        self._check_params()
        probs = _check_probabilities(p_raw, "p_raw")
        if probs.size == 0:
            raise ValueError("cannot fit a calibrator on zero rows")
        labels = _check_binary(y, probs.size)
        self.base_rate_ = float(labels.mean())
        self.n_samples_ = int(probs.size)
        self.fallback_ = probs.size < self.min_samples or np.unique(labels).size < 2
        self.model_: IsotonicRegression | LogisticRegression | None = None
        if self.fallback_:
            return self
        if self.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            iso.fit(probs, labels)
            self.model_ = iso
        else:
            platt = LogisticRegression(C=np.inf, solver="lbfgs")
            platt.fit(_logit(probs, self.eps)[:, None], labels.astype(np.int64))
            self.model_ = platt
        return self

    def predict(self, p_raw: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities, same length as ``p_raw``."""
        if not hasattr(self, "fallback_"):
            raise NotFittedError("ProbabilityCalibrator.predict called before fit")
        probs = _check_probabilities(p_raw, "p_raw")
        if self.fallback_ or self.model_ is None:
            out = np.full(probs.size, self.base_rate_)
        elif isinstance(self.model_, IsotonicRegression):
            out = np.asarray(self.model_.predict(probs), dtype=np.float64)
        else:
            out = self.model_.predict_proba(_logit(probs, self.eps)[:, None])[:, 1]
        return np.clip(out, self.eps, 1.0 - self.eps)
