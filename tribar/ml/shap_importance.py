"""Which features carry the models' signal: mean |SHAP| of the trained LightGBM boosters, and the
smallest feature set covering a share of the total importance.

Feature names are FreqAI's (``%-rsi-period_12_BTC/USDT_1h``): they name the pair whose candles
a feature is computed on. A model's own pair is written ``{pair}`` here, so one name covers
"this pair's RSI" across every pair's model; context pairs (BTC, ETH) keep their names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

OWN_PAIR = "{pair}"
SELECTED_FEATURES_VERSION = 1


def generic_feature_name(name: str, pair: str) -> str:
    """``%-rsi-period_12_SOL/USDT_1h`` of SOL's model -> ``%-rsi-period_12_{pair}_1h``."""
    return name.replace(f"_{pair}_", f"_{OWN_PAIR}_")


def positive_class_shap(values: Any) -> npt.NDArray[np.float64]:
    """SHAP values of the take-profit class, rows x features, whatever shape shap returns
    for a binary LightGBM classifier (one log-odds matrix, a per-class list, or a 3-d array)."""
    if isinstance(values, list):
        values = values[-1]
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 3:
        array = array[:, :, -1]
    if array.ndim != 2:
        raise ValueError(f"expected SHAP values of shape (rows, features), got {array.shape}")
    return array


def mean_abs_shap(shap_values: npt.NDArray[np.float64], feature_names: Sequence[str]) -> pd.Series:
    if shap_values.shape[1] != len(feature_names):
        raise ValueError(
            f"{shap_values.shape[1]} SHAP columns for {len(feature_names)} feature names"
        )
    return pd.Series(np.abs(shap_values).mean(axis=0), index=list(feature_names), dtype=float)


def pooled_importance(per_training: Iterable[pd.Series]) -> pd.Series:
    """Mean over trainings of each feature's mean |SHAP|; a feature a training lacks counts 0
    there. Sorted, largest first."""
    frames = [s for s in per_training if len(s)]
    if not frames:
        return pd.Series(dtype=float)
    table = pd.concat(frames, axis=1).fillna(0.0)
    return table.mean(axis=1).sort_values(ascending=False, kind="stable")


def covering_set(importance: pd.Series, coverage: float) -> list[str]:
    """The smallest set of features whose importance reaches ``coverage`` of the total (ties
    broken by order). All-zero importance (models without a split) selects nothing."""
    if not 0.0 < coverage <= 1.0 or not math.isfinite(coverage):
        raise ValueError(f"coverage must be in (0, 1] (0.8 = 80 %), got {coverage!r}")
    values = importance.sort_values(ascending=False, kind="stable")
    if (values < 0).any() or not np.isfinite(values.to_numpy()).all():
        raise ValueError("importance must be finite and non-negative")
    total = float(values.sum())
    if total == 0.0:
        return []
    shares = values.cumsum() / total
    # Tolerance: a float cumsum can land a hair below an exactly reached share.
    count = int(np.searchsorted(shares.to_numpy(), coverage - 1e-12) + 1)
    return list(values.index[: min(count, len(values))])


@dataclass(frozen=True)
class SelectedFeatures:
    """``config/selected_features.json``: generic names (``{pair}`` for the model's own pair)."""

    features: tuple[str, ...]
    coverage: float
    trainings: int
    source: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": SELECTED_FEATURES_VERSION,
                "coverage": self.coverage,
                "trainings": self.trainings,
                "source": self.source,
                "features": list(self.features),
            },
            indent=1,
        )

    def keep(self, training_features: Sequence[str], pair: str) -> list[str]:
        """The model's feature columns that are selected, in their original order."""
        chosen = set(self.features)
        return [f for f in training_features if generic_feature_name(f, pair) in chosen]


def read_selected_features(path: Path) -> SelectedFeatures:
    """Parse the file; any problem is a ValueError naming the file and what was expected."""
    expected = (
        f"a JSON object with version {SELECTED_FEATURES_VERSION} and a non-empty list of feature "
        "names under 'features' (as written by `tribar features`)"
    )
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path}: cannot read selected features ({exc}); expected {expected}"
        ) from exc
    features = raw.get("features") if isinstance(raw, dict) else None
    if (
        not isinstance(raw, dict)
        or raw.get("version") != SELECTED_FEATURES_VERSION
        or not isinstance(features, list)
        or not features
        or not all(isinstance(f, str) and f for f in features)
    ):
        raise ValueError(f"{path}: not a selected-features file; expected {expected}")
    return SelectedFeatures(
        features=tuple(features),
        coverage=float(raw.get("coverage", math.nan)),
        trainings=int(raw.get("trainings", 0)),
        source=str(raw.get("source", "")),
    )
