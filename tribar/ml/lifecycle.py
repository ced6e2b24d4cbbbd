"""The FreqAI side of the model lifecycle: champion/challenger at every training, the registry of
versions, pin/rollback in a running bot, and falling back when a model file is damaged.

How a model gets into service in FreqAI 2026.9: ``train`` returns a model; FreqAI saves it with
the data kitchen's feature pipeline and feature list under the new ``sub-train-<coin>_<ts>``
folder (``FreqaiDataDrawer.save_data``), keeps it in ``dd.model_dictionary`` and predicts with
it. So a rejected challenger is replaced *in ``train``*: the incumbent's model, pipelines and
feature list (the registry's copies) are put into the data kitchen and the incumbent is returned.
FreqAI then saves the incumbent under the new training's folder and serves it, in backtests and
live alike, with no change to FreqAI. The challenger itself is kept in the registry (rejected).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.ml.barrier_classifier import BarrierClassifier
from tribar.ml.challenger import (
    ChallengerSettings,
    Decision,
    Scores,
    decide,
    overfitting_gap,
    score,
)
from tribar.ml.model_metrics import METRICS_FILE
from tribar.ml.registry import REGISTRY_DIR, Artifacts, ModelRegistry, RegistryError

logger = logging.getLogger(__name__)


@dataclass
class Holdout:
    """The candidate's newest purged block, as raw (untransformed) rows, plus its own scores."""

    features: pd.DataFrame
    labels: pd.DataFrame
    dates: pd.Series
    y: npt.NDArray[np.int_]
    candidate_raw: npt.NDArray[np.float64]


def registry_for(dk: FreqaiDataKitchen) -> ModelRegistry:
    # The identifier's folder (data_path is its sub-train-<coin>_<ts> child): it outlives
    # FreqAI's purge of old trainings and bot restarts.
    return ModelRegistry(Path(dk.data_path).parent / REGISTRY_DIR)


def settings_from(freqai_info: dict[str, Any]) -> ChallengerSettings:
    return ChallengerSettings.from_config(freqai_info.get("tribar", {}).get("challenger"))


def _metadata(dk: FreqaiDataKitchen) -> dict[str, Any]:
    return {
        **{k: v for k, v in (dk.data or {}).items() if k not in ("data_path", "model_filename")},
        "training_features_list": list(dk.training_features_list),
        "label_list": list(dk.label_list),
    }


def apply_artifacts(dk: FreqaiDataKitchen, artifacts: Artifacts) -> None:
    """Make the data kitchen predict (and FreqAI save) with this version's pipeline and features."""
    dk.feature_pipeline = artifacts.feature_pipeline
    dk.label_pipeline = artifacts.label_pipeline
    dk.data = {**(dk.data or {}), **artifacts.metadata}
    dk.training_features_list = list(artifacts.metadata["training_features_list"])
    dk.label_list = list(artifacts.metadata["label_list"])
    if artifacts.trained_df is not None and getattr(dk, "data_dictionary", None):
        # FreqAI saves this as the training's *_trained_df.pkl (read by `tribar features`):
        # it must match the served booster's columns.
        dk.data_dictionary["train_features"] = artifacts.trained_df


def _incumbent_scores(
    holdout: Holdout, artifacts: Artifacts, incumbent_end: str, embargo_minutes: float
) -> tuple[Scores, Scores] | str:
    """(candidate, incumbent) on the holdout rows neither trained on, or why there are none."""
    after = pd.Timestamp(incumbent_end)
    if after.tzinfo is None:
        after = after.tz_localize("UTC")
    shared = (holdout.dates > after + pd.Timedelta(minutes=embargo_minutes)).to_numpy()
    if not shared.any():
        return Scores(0, None, None), Scores(0, None, None)
    columns = list(artifacts.metadata["training_features_list"])
    missing = [c for c in columns if c not in holdout.features.columns]
    if missing:
        return f"incumbent needs {len(missing)} feature(s) the candidate has not ({missing[:3]})"
    x, _, _ = artifacts.feature_pipeline.transform(holdout.features.loc[shared, columns])
    if len(x) != int(shared.sum()):
        return "the incumbent's feature pipeline dropped holdout rows"
    incumbent_raw = artifacts.model.raw_probability(x)
    y = holdout.y[shared]
    return score(y, holdout.candidate_raw[shared]), score(y, incumbent_raw)


def _training_info(
    model: BarrierClassifier, unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen
) -> dict[str, Any]:
    metrics = model.metrics
    in_sample = metrics.get("train_raw", {})
    out_of_sample = metrics.get("calibration_raw", {})
    gate = metrics.get("edge_gate")

    def short(block: dict[str, Any]) -> dict[str, Any]:
        return {k: block.get(k) for k in ("n", "base_rate", "auc", "log_loss", "brier", "ece")}

    return {
        "pair": metrics.get("pair"),
        "training_folder": Path(dk.data_path).name,
        "train_start": str(unfiltered_df["date"].iloc[0]),
        "train_end": str(unfiltered_df["date"].iloc[-1]),
        "trained": model.booster is not None,
        "best_iteration": metrics.get("best_iteration"),
        "metrics": {
            "in_sample": short(in_sample),
            "validation": short(metrics.get("validation_raw", {})),
            "out_of_sample": short(out_of_sample),
        },
        "overfitting": overfitting_gap(in_sample, out_of_sample),
        "edge_gate_passed": None if gate is None else bool(gate["passed"]),
    }


def challenge(
    candidate: BarrierClassifier,
    holdout: Holdout | None,
    unfiltered_df: pd.DataFrame,
    pair: str,
    dk: FreqaiDataKitchen,
    freqai_info: dict[str, Any],
    horizon: int,
    notify: Callable[[str], None],
) -> BarrierClassifier:
    """Register the candidate; return the model to serve (the candidate, or the incumbent with
    the data kitchen set up for it). Never raises on registry trouble: the candidate serves."""
    try:
        settings = settings_from(freqai_info)
    except ValueError as exc:  # a config error: stop, naming the key
        raise OperationalException(str(exc)) from exc
    info = _training_info(candidate, unfiltered_df, dk)
    overfit = info["overfitting"]
    if overfit["warning"]:
        logger.warning(
            "%s: in-sample vs out-of-sample gap above %.0f%% (AUC %s, log-loss %s): overfitting",
            pair, 100 * overfit["threshold"], _pct(overfit["auc_gap"]),
            _pct(overfit["log_loss_gap"]),
        )  # fmt: skip
    try:
        registry = registry_for(dk)
        return _challenge(candidate, holdout, info, pair, dk, freqai_info, horizon, settings,
                          registry, notify)  # fmt: skip
    except (RegistryError, OSError) as exc:
        logger.error("%s: model registry: %s; the new model serves, unregistered", pair, exc)
        return candidate


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f}%"


def _challenge(
    candidate: BarrierClassifier, holdout: Holdout | None, info: dict[str, Any], pair: str,
    dk: FreqaiDataKitchen, freqai_info: dict[str, Any], horizon: int,
    settings: ChallengerSettings, registry: ModelRegistry, notify: Callable[[str], None],
) -> BarrierClassifier:  # fmt: skip
    incumbent_entry = registry.incumbent_for(pair, info["train_end"])
    incumbent: Artifacts | None = None
    if incumbent_entry is not None:
        try:
            incumbent = registry.load_artifacts(pair, int(incumbent_entry["version"]))
        except RegistryError as exc:
            logger.error("%s: incumbent unreadable, judging the new model alone: %s", pair, exc)
            incumbent_entry = None
    decision = _decide(candidate, holdout, incumbent_entry, incumbent, dk, freqai_info, horizon,
                       settings)  # fmt: skip
    pinned = registry.load(pair)["pinned"]
    accepted = decision.accepted or not settings.enabled
    if pinned is not None:
        accepted = False
    reasons = list(decision.reasons)
    if pinned is not None:
        reasons.append(f"v{pinned} is pinned")
    elif not settings.enabled:
        reasons.append("challenger gate off: serving the new model whatever the comparison says")
    info["decision"] = {**decision.as_dict(), "accepted": accepted,
                        "would_accept": decision.accepted, "gate_enabled": settings.enabled,
                        "reasons": reasons}  # fmt: skip
    artifacts = Artifacts(
        candidate, dk.feature_pipeline, dk.label_pipeline, _metadata(dk),
        dk.data_dictionary.get("train_features") if getattr(dk, "data_dictionary", None) else None,
    )  # fmt: skip
    candidate.metrics["challenger"] = info["decision"]
    entry = registry.register(pair, artifacts, info, accepted, settings.keep_versions)
    version = int(entry["version"])
    serve_instead = incumbent is not None and incumbent_entry is not None and not accepted
    candidate.metrics["serving_version"] = (
        int(incumbent_entry["version"]) if serve_instead and incumbent_entry else version
    )
    _rewrite_metrics(candidate, dk)
    if accepted:
        logger.info("%s: model v%d serving (%s)", pair, version, "; ".join(reasons))
        return candidate
    if serve_instead and incumbent is not None and incumbent_entry is not None:
        message = (
            f"tribar: {pair} new model v{version} rejected ({'; '.join(reasons)}); "
            f"v{incumbent_entry['version']} (trained to {incumbent_entry['train_end']}) "
            "keeps serving"
        )
        logger.warning(message)
        notify(message)
        apply_artifacts(dk, incumbent)
        served: BarrierClassifier = incumbent.model
        return served
    message = (
        f"tribar: {pair} new model v{version} rejected ({'; '.join(reasons)}); no earlier "
        "model to serve, so no entries until a model passes"
    )
    logger.warning(message)
    notify(message)
    blocked = BarrierClassifier.untrained(f"rejected: {'; '.join(reasons)}",
                                          list(dk.training_features_list))  # fmt: skip
    blocked.metrics.update(candidate.metrics)
    return blocked


def _decide(
    candidate: BarrierClassifier, holdout: Holdout | None, incumbent_entry: dict[str, Any] | None,
    incumbent: Artifacts | None, dk: FreqaiDataKitchen, freqai_info: dict[str, Any],
    horizon: int, settings: ChallengerSettings,
) -> Decision:  # fmt: skip
    incumbent_version = None if incumbent_entry is None else int(incumbent_entry["version"])
    if candidate.booster is None or holdout is None:
        reason = candidate.metrics.get("untrained", "no holdout")
        return Decision(False, [f"not trained ({reason})"], Scores(0, None, None), None, None,
                        incumbent_version)  # fmt: skip
    candidate_scores = score(holdout.y, holdout.candidate_raw)
    shared: tuple[Scores, Scores] | str | None = None
    if incumbent is not None and incumbent_entry is not None:
        embargo = int(freqai_info.get("tribar", {}).get("embargo_candles", horizon))
        minutes = embargo * timeframe_to_minutes(dk.config.get("timeframe", "1h"))
        try:
            shared = _incumbent_scores(holdout, incumbent, incumbent_entry["train_end"], minutes)
        except Exception as exc:  # an incumbent from another code version may not predict here
            shared = f"{type(exc).__name__}: {exc}"
    if isinstance(shared, str):
        decision = decide(candidate_scores, None, None, None, settings)
        return Decision(
            decision.accepted,
            [*decision.reasons, f"not compared with v{incumbent_version}: {shared}"],
            candidate_scores, None, None, incumbent_version,
        )  # fmt: skip
    c_shared, i_shared = shared if shared is not None else (None, None)
    return decide(candidate_scores, c_shared, i_shared, incumbent_version, settings)


def _rewrite_metrics(model: BarrierClassifier, dk: FreqaiDataKitchen) -> None:
    import json

    path = Path(dk.data_path) / METRICS_FILE
    if path.parent.is_dir():
        path.write_text(json.dumps(model.metrics, indent=1, default=str))


def serve_registry_choice(model: Any, dk: FreqaiDataKitchen, dd: Any) -> Any:
    """Live only: when ``tribar models pin|rollback`` chose another version than the one loaded,
    load it and serve it (the next candle after the change). Any trouble: keep what serves."""
    metrics = getattr(model, "metrics", None)
    loaded = metrics.get("registry_version") if isinstance(metrics, dict) else None
    pair = dk.pair
    try:
        registry = registry_for(dk)
        if not registry.file(pair).exists():
            return model
        state = registry.load(pair)
        chosen = state["pinned"] if state["pinned"] is not None else state["serving"]
        # A model the registry does not know (trained before it, or its registration failed)
        # is left alone: only an explicit pin/rollback of a registered model swaps it.
        if chosen is None or loaded is None or chosen == loaded:
            return model
        artifacts = registry.load_artifacts(pair, int(chosen))
    except (RegistryError, OSError) as exc:
        logger.error("%s: model registry unreadable (%s); keeping the loaded model", pair, exc)
        return model
    apply_artifacts(dk, artifacts)
    _cache(dd, pair, artifacts)
    logger.warning("%s: serving registry v%s (was v%s), as `tribar models` set", pair, chosen,
                   loaded)  # fmt: skip
    return artifacts.model


def note_live_source(model: Any, dk: FreqaiDataKitchen, seen: dict[str, tuple[Any, str]]) -> None:
    """Log which registry version a live bot predicts with, once each time it changes (a new
    training, a rejected one that keeps the incumbent, pin/rollback, a fallback): the record of
    what served when, which the registry itself does not keep per candle."""
    metrics = getattr(model, "metrics", None)
    version = metrics.get("registry_version") if isinstance(metrics, dict) else None
    folder = Path(dk.data_path).name if getattr(dk, "data_path", None) else "?"
    if seen.get(dk.pair) == (version, folder):
        return
    seen[dk.pair] = (version, folder)
    if model is None:
        logger.info("%s: live predictions: no readable model (no entries)", dk.pair)
        return
    source = "outside the registry" if version is None else f"from registry v{version}"
    logger.info("%s: live predictions %s (FreqAI's model folder %s)", dk.pair, source, folder)


def _cache(dd: Any, pair: str, artifacts: Artifacts) -> None:
    """Keep FreqAI's in-memory copies in step, so its next ``load_data`` returns this version."""
    dd.model_dictionary[pair] = artifacts.model
    meta = dd.meta_data_dictionary.setdefault(pair, {})
    meta["metadata"] = artifacts.metadata
    meta["feature_pipeline"] = artifacts.feature_pipeline
    meta["label_pipeline"] = artifacts.label_pipeline


def load_data_with_fallback(
    original: Callable[[str, FreqaiDataKitchen], Any], dd: Any
) -> Callable[[str, FreqaiDataKitchen], Any]:
    """Wrap ``FreqaiDataDrawer.load_data``: when FreqAI's files of the model in service are
    missing or damaged, serve the registry's copy of it, else the newest earlier version that
    served; with none readable, return None (FreqAI then answers NaN: no entries)."""

    def load_data(coin: str, dk: FreqaiDataKitchen) -> Any:
        try:
            return original(coin, dk)
        except Exception as exc:  # unpickling a damaged file can raise almost anything
            where = Path(dk.data_path) / f"{getattr(dk, 'model_filename', '?')}_model.joblib"
            logger.error("%s: model in service unreadable (%s: %s, %s); falling back to the "
                         "registry's last good version", coin, type(exc).__name__, exc,
                         where)  # fmt: skip
        # A half-loaded entry would be served from memory next time.
        dd.model_dictionary.pop(coin, None)
        dd.meta_data_dictionary.pop(coin, None)
        try:
            candidates = registry_for(dk).fallbacks(coin)
        except (RegistryError, OSError) as exc:
            logger.error("%s: no fallback, registry unreadable: %s", coin, exc)
            candidates = []
        registry = registry_for(dk)
        for entry in candidates:
            version = int(entry["version"])
            try:
                artifacts = registry.load_artifacts(coin, version)
            except RegistryError as exc:
                logger.error("%s: fallback v%d unreadable too: %s", coin, version, exc)
                continue
            apply_artifacts(dk, artifacts)
            _cache(dd, coin, artifacts)
            logger.warning("%s: serving registry v%d (trained %s to %s) instead", coin, version,
                           entry.get("train_start"), entry.get("train_end"))  # fmt: skip
            return artifacts.model
        logger.error("%s: no readable model; no predictions (no entries) until the next training",
                     coin)  # fmt: skip
        return None

    return load_data
