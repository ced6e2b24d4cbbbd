"""FreqAI classifier base for triple-barrier labels: purged time-ordered splits, early stopping,
out-of-sample probability calibration, metrics saved with each training.

FreqAI's own split is scikit-learn's ``train_test_split`` (no purge), so ``train`` is replaced:

    | train | purge+embargo | validation (early stopping) | purge+embargo | calibration |

The feature pipeline (scaling, outlier removal) is fitted on the train block only.

With ``freqai.tribar.edge_gate_z`` set (config.json sets it), the booster must show an edge on the
calibration block (``tribar.ml.edge_gate``) before its probabilities are used; otherwise the model
predicts the pair's long-run take-profit rate (``tribar.ml.label_history``) and the strategy,
whose entries need a positive expected value at that probability, stays flat.
``freqai.tribar.edge_gate_rule: consecutive`` also asks the pair's previous independent test to
have passed (``tribar.ml.gate_rule``); ``freqai.tribar.placebo_shuffle_seed`` (backtests only)
trains on shuffled labels to measure the gate's false-positive rate (``tribar.ml.placebo``).
In backtests every model also writes ``tp_gate_off``: its calibrated probability as if the gate
were off (``TripleBarrierMLGateOff`` trades on it), so one run shows what the gate changed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from time import time
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.freqai.base_models.BaseClassifierModel import BaseClassifierModel
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.calibration import ProbabilityCalibrator
from tribar.ml import lifecycle, placebo
from tribar.ml.barrier_classifier import (
    NO_TAKE_PROFIT,
    TAKE_PROFIT,
    TAKE_PROFIT_GATE_OFF,
    BarrierClassifier,
    classification_metrics,
)
from tribar.ml.edge_gate import EdgeEvidence, edge_evidence
from tribar.ml.gate_history import GATE_HISTORY_DIR, GateHistory, judge
from tribar.ml.gate_rule import GateRecord, gate_rule
from tribar.ml.label_history import HISTORY_DIR, TakeProfitHistory
from tribar.ml.live_history import update_historic_data_keeping_dates
from tribar.ml.model_metrics import METRICS_FILE
from tribar.ml.shap_importance import read_selected_features
from tribar.splits import purged_train_validation_split

logger = logging.getLogger(__name__)


class InsufficientTrainingDataError(ValueError):
    pass


# Written by `tribar features`; honoured by every training when present.
DEFAULT_SELECTED_FEATURES = Path("config/selected_features.json")

# Log-record attribute set on the one "training finished" record of every training.
TRAINING_FINISHED = "tribar_training_finished"


@dataclass(frozen=True)
class TrainingFinished:
    pair: str
    trained: bool  # False: the window could not be trained (NaN predictions, no entries)
    edge_gate_passed: bool | None  # None: no gate configured, or not trained

    def describe(self) -> str:
        if not self.trained:
            return "not trained"
        if self.edge_gate_passed is None:
            return "no edge gate"
        return "edge gate passed" if self.edge_gate_passed else "edge gate not passed"


def purge_labels_at_window_end(
    df: pd.DataFrame, label_columns: list[str], horizon: int
) -> pd.DataFrame:
    """Blank the labels of the last ``horizon`` candles of a training window.

    Their label windows reach past the training window into the next test window. Freqtrade
    2026.9's FreqAI already computes backtest targets on a frame cut at the training end (so the
    triple-barrier labels there are NaN); this keeps the purge true whatever frame the labels
    came from (live retraining, other FreqAI versions). tests/leakage shows it matters.
    """
    purged = df.copy()
    if horizon > 0 and label_columns:
        purged.loc[purged.index[-horizon:], label_columns] = np.nan
    return purged


def mask_rows_with_missing_features(
    features: pd.DataFrame,
    predictions: pd.DataFrame,
    do_predict: npt.NDArray[np.int_],
    probability_columns: list[str],
) -> tuple[pd.DataFrame, npt.NDArray[np.int_]]:
    """No prediction where any feature was missing (NaN or inf).

    FreqAI fills missing prediction features with 0 and its classifier ``predict`` then replaces
    ``do_predict`` with the outlier check alone, so such rows could still look tradeable.
    """
    missing = features.replace([np.inf, -np.inf], np.nan).isna().any(axis=1).to_numpy()
    masked = predictions.copy()
    columns = [c for c in probability_columns if c in masked.columns]
    masked.loc[missing, columns] = np.nan
    return masked, np.where(missing, 0, np.asarray(do_predict)).astype(int)


def three_block_split(
    n: int, horizon: int, validation_fraction: float, calibration_fraction: float, embargo: int
) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_], npt.NDArray[np.int_]]:
    """Positions of the train, validation and calibration blocks (time-ordered, purged)."""
    head, calibration = purged_train_validation_split(n, horizon, calibration_fraction, embargo)
    train_pos, val_pos = purged_train_validation_split(
        len(head), horizon, validation_fraction / (1.0 - calibration_fraction), embargo
    )
    return head[train_pos], head[val_pos], calibration


class TripleBarrierClassifierBase(BaseClassifierModel):
    """Subclasses pick the calibration method and LightGBM defaults; the config's
    ``model_training_parameters`` override the defaults."""

    calibration_method: ClassVar[str] = "isotonic"
    validation_fraction: ClassVar[float] = 0.2
    calibration_fraction: ClassVar[float] = 0.2
    early_stopping_rounds: ClassVar[int] = 50
    min_training_rows: ClassVar[int] = 200
    default_lgbm_parameters: ClassVar[dict[str, Any]] = {
        "n_estimators": 600,
        "learning_rate": 0.03,
        "num_leaves": 15,
        "min_child_samples": 100,
        "subsample": 0.7,
        "subsample_freq": 1,
        "colsample_bytree": 0.7,
        "reg_lambda": 5.0,
        # Default threading is 7-40x slower on 2 cores with other work running.
        "n_jobs": 1,
        "verbose": -1,
    }

    @property
    def label_horizon(self) -> int:
        return int(self.freqai_info["feature_parameters"].get("label_period_candles", 24))

    @property
    def edge_gate_z(self) -> float | None:
        """One-sided z the calibration-block AUC must reach; None: no gate (always calibrate)."""
        value = self.freqai_info.get("tribar", {}).get("edge_gate_z")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OperationalException(
                f"freqai.tribar.edge_gate_z must be a number (e.g. 1.645) or null, got {value!r}"
            )
        return float(value)

    def long_run_take_profit_rate(
        self, purged_df: pd.DataFrame, pair: str, dk: FreqaiDataKitchen
    ) -> tuple[float, int]:
        """Record this window's labels in the pair's history; the rate over all labels complete
        before this window's purged tail (the window's own rate if the history is unusable)."""
        label = purged_df[dk.label_list[0]]
        labelled = label.notna()
        take_profit = (label[labelled].astype(str) == TAKE_PROFIT).to_numpy(dtype=int)
        dates = pd.to_datetime(purged_df.loc[labelled, "date"], utc=True)
        horizon = self.label_horizon
        known_before = pd.Timestamp(purged_df["date"].iloc[-horizon if horizon > 0 else -1])
        # The identifier's folder (data_path is its sub-train-<coin>_<time> child), which
        # outlives FreqAI's purge of old models, so the history survives retrainings and restarts.
        history = TakeProfitHistory(Path(dk.data_path).parent / HISTORY_DIR)
        try:
            merged = history.record(pair, dates, take_profit)
        except (ValueError, OSError) as exc:
            logger.warning("%s: %s; using this window's take-profit rate", pair, exc)
            merged = pd.Series(take_profit, index=pd.DatetimeIndex(dates))
        return TakeProfitHistory.rate(merged, known_before)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Config errors stop the start: inside a backtest FreqAI logs a training's exception
        # and skips the window, so a bad key would otherwise only show as untrained windows.
        settings = self.freqai_info.get("tribar", {})
        trading = self.config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE)
        try:
            self.edge_gate_rule = gate_rule(settings)
            self.placebo_seed = placebo.placebo_seed(settings, trading)
            self.placebo_block = placebo.placebo_block(settings, self.label_horizon)
        except ValueError as exc:
            raise OperationalException(str(exc)) from exc
        # A damaged model file must not stop the bot: fall back to the registry's last good
        # version (tribar.ml.lifecycle). The drawer is this model's own object.
        wrapped = lifecycle.load_data_with_fallback(self.dd.load_data, self.dd)
        self.dd.load_data = wrapped
        self._live_sources: dict[str, tuple[Any, str]] = {}  # pair: (version, folder) logged
        # Live retraining within a day of the start failed on an object date column
        # (tribar.ml.live_history).
        self.dd.update_historic_data = update_historic_data_keeping_dates(
            self.dd.update_historic_data, self.dd
        )

    def train(
        self, unfiltered_df: pd.DataFrame, pair: str, dk: FreqaiDataKitchen, **kwargs: Any
    ) -> BarrierClassifier:
        self._holdout: lifecycle.Holdout | None = None
        candidate = self._train_window(unfiltered_df, pair, dk)
        model = lifecycle.challenge(
            candidate, self._holdout, unfiltered_df, pair, dk, self.freqai_info,
            self.label_horizon, notify=self._notify,
        )  # fmt: skip
        gate = model.metrics.get("edge_gate")
        finished = TrainingFinished(
            pair=pair,
            trained=model.booster is not None,
            edge_gate_passed=None if gate is None else bool(gate["passed"]),
        )
        # One record per training, which progress displays (tribar demo) count.
        logger.info("%s: training finished (%s)", pair, finished.describe(),
                    extra={TRAINING_FINISHED: finished})  # fmt: skip
        return model

    def _train_window(
        self, unfiltered_df: pd.DataFrame, pair: str, dk: FreqaiDataKitchen
    ) -> BarrierClassifier:
        started = time()
        horizon = self.label_horizon
        unfiltered_df = purge_labels_at_window_end(unfiltered_df, dk.label_list, horizon)
        self._apply_feature_selection(pair, dk)
        try:
            features, labels = dk.filter_features(
                unfiltered_df, dk.training_features_list, dk.label_list, training_filter=True
            )
        except OperationalException as exc:
            # e.g. every row has a NaN feature (an informative timeframe without data).
            logger.warning("%s: not trained, no entries until the next training: %s", pair, exc)
            empty = unfiltered_df.iloc[:0]
            return self._untrained(
                str(exc),
                empty.filter(dk.training_features_list, axis=1),
                empty.filter(dk.label_list, axis=1),
                dk,
            )
        if self.placebo_seed is not None:
            if dk.live:  # the start already refuses dry-run/live; never trade on a placebo
                raise OperationalException(f"{placebo.SETTING} is for backtests only")
            labels = placebo.shuffled_labels(
                labels, self.placebo_seed, pair, unfiltered_df["date"].iloc[-1], self.placebo_block
            )
        embargo = int(self.freqai_info.get("tribar", {}).get("embargo_candles", horizon))
        n = len(features)
        try:
            if n < self.min_training_rows:
                raise InsufficientTrainingDataError(
                    f"{n} labelled training rows after dropping NaNs; need at least "
                    f"{self.min_training_rows} (train_period_days too short or data missing)"
                )
            train_pos, val_pos, cal_pos = three_block_split(
                n, horizon, self.validation_fraction, self.calibration_fraction, embargo
            )
            # A block without a single take-profit (or without a miss) gives LightGBM one class:
            # nothing to learn, and no P(take-profit) column (seen on 4h, 60-day windows).
            outcomes = labels.iloc[train_pos, 0].astype(str).unique()
            if len(outcomes) < 2:
                raise InsufficientTrainingDataError(
                    f"all {len(train_pos)} labels of the training block are {outcomes.tolist()}; "
                    "need both outcomes (train_period_days too short for the barriers)"
                )
        except ValueError as exc:
            logger.warning("%s: not trained, no entries until the next training: %s", pair, exc)
            return self._untrained(str(exc), features, labels, dk)
        weight_factor = self.freqai_info["feature_parameters"].get("weight_factor", 0)
        weights = dk.set_weights_higher_recent(n) if weight_factor > 0 else np.ones(n)

        dk.build_data_dictionary(
            features.iloc[train_pos], features.iloc[val_pos],
            labels.iloc[train_pos], labels.iloc[val_pos],
            weights[train_pos], weights[val_pos],
        )  # fmt: skip
        dk.fit_labels()
        dk.feature_pipeline = self.define_data_pipeline(threads=dk.thread_count)
        dd = dk.data_dictionary
        dd["train_features"], dd["train_labels"], dd["train_weights"] = (
            dk.feature_pipeline.fit_transform(
                dd["train_features"], dd["train_labels"], dd["train_weights"]
            )
        )
        dd["test_features"], dd["test_labels"], dd["test_weights"] = dk.feature_pipeline.transform(
            dd["test_features"], dd["test_labels"], dd["test_weights"]
        )
        cal_x, cal_labels, _ = dk.feature_pipeline.transform(
            features.iloc[cal_pos], labels.iloc[cal_pos], weights[cal_pos]
        )
        logger.info(
            "%s: triple-barrier training on %d rows, validation %d, calibration %d "
            "(purge %d + embargo %d candles between blocks), %d features",
            pair, len(dd["train_features"]), len(dd["test_features"]), len(cal_x), horizon, embargo,
            dd["train_features"].shape[1],
        )  # fmt: skip
        init_booster = self._warm_start_booster(pair, list(dd["train_features"].columns))
        model, y_cal, raw_cal = self._fit_calibrated(dd, cal_x, cal_labels, init_booster)
        self._holdout = lifecycle.Holdout(
            features=features.iloc[cal_pos],
            labels=labels.iloc[cal_pos],
            dates=pd.to_datetime(unfiltered_df.loc[features.index[cal_pos], "date"], utc=True),
            y=y_cal,
            candidate_raw=raw_cal,
        )
        z_required = self.edge_gate_z
        if z_required is not None:
            evidence = edge_evidence(y_cal, raw_cal, horizon, z_required)
            self._apply_edge_gate(model, evidence, unfiltered_df, pair, dk, self._holdout.dates)
        if self.placebo_seed is not None:
            model.metrics["placebo"] = {
                "shuffle_seed": self.placebo_seed, "block_rows": self.placebo_block,
            }  # fmt: skip
        model.metrics["pair"] = pair
        model.metrics["train_seconds"] = round(time() - started, 3)
        model.metrics["train_end"] = str(unfiltered_df["date"].iloc[-1])
        dk.data_path.mkdir(parents=True, exist_ok=True)
        (dk.data_path / METRICS_FILE).write_text(json.dumps(model.metrics, indent=1, default=str))
        return model

    def _apply_feature_selection(self, pair: str, dk: FreqaiDataKitchen) -> None:
        """Train on the features ``tribar features`` selected, when its file exists. FreqAI
        saves the narrowed list with the model and predicts with exactly those columns."""
        setting = self.freqai_info.get("tribar", {}).get(
            "selected_features_file", str(DEFAULT_SELECTED_FEATURES)
        )
        if not setting:
            return
        path = Path(setting)
        if not path.is_file():
            return
        try:
            selection = read_selected_features(path)
            kept = selection.keep(dk.training_features_list, pair)
            if not kept:
                raise ValueError(
                    f"{path}: none of its {len(selection.features)} features is among {pair}'s "
                    f"{len(dk.training_features_list)} feature columns (from another strategy's "
                    "features?); expected names as `tribar features` writes them"
                )
        except ValueError as exc:
            message = (
                f"freqai.tribar.selected_features_file: {exc} (delete the file, or set the key "
                "to null, to train on every feature)"
            )
            if dk.live:
                # A running bot keeps trading on a model of every feature rather than stopping.
                logger.error("%s: %s; training on every feature", pair, message)
                return
            raise OperationalException(message) from exc
        logger.info("%s: %d of %d features, selected in %s", pair, len(kept),
                    len(dk.training_features_list), path)  # fmt: skip
        dk.training_features_list = kept

    def _untrained(
        self, reason: str, features: pd.DataFrame, labels: pd.DataFrame, dk: FreqaiDataKitchen
    ) -> BarrierClassifier:
        """Keep FreqAI's bookkeeping valid (pipeline, data dictionary) for a NaN-answering model."""
        weights = np.ones(len(features))
        dk.build_data_dictionary(
            features, features.iloc[:0], labels, labels.iloc[:0], weights, weights[:0]
        )
        dk.fit_labels()
        dk.feature_pipeline = self.define_data_pipeline(threads=dk.thread_count)
        if len(features):
            dd = dk.data_dictionary
            try:
                dd["train_features"], dd["train_labels"], dd["train_weights"] = (
                    dk.feature_pipeline.fit_transform(
                        dd["train_features"], dd["train_labels"], weights
                    )
                )
            except ValueError as exc:
                # e.g. one labelled row (a primary that barely fired): the variance filter has
                # nothing to fit. The untrained model never transforms, so the pipeline may stay
                # unfitted; raising here would crash FreqAI's own failed-training fallback.
                logger.info("feature pipeline left unfitted for an untrained window: %s", exc)
        return BarrierClassifier.untrained(reason, list(features.columns))

    def _warm_start_booster(self, pair: str, feature_names: list[str]) -> Any | None:
        """With ``freqai.continual_learning``, the booster of the pair's model in service, to
        continue boosting from (FreqAI's ``get_init_model`` rule: the model it last trained or
        loaded for the pair). Only the booster carries over: the calibrator and the edge gate
        are fitted afresh on this window's calibration block, which the old booster never saw
        (it was trained on an earlier window). None when off, when there is no earlier model or
        it is untrained, or when it was fitted on other feature columns (the pipeline's
        constant-column filter or a new selection changed them): boosting needs the same ones."""
        if not self.continual_learning:
            return None
        # Not get_init_model itself: it sets a tensorboard logger on the model object, which
        # would then be pickled with it if the incumbent is saved again.
        previous = self.dd.model_dictionary.get(pair)
        booster = getattr(previous, "booster", None)
        if booster is None:
            return None
        previous_features = list(getattr(previous, "feature_names", []))
        if previous_features != feature_names:
            logger.warning(
                "%s: continual_learning: the previous model has %d feature columns, this window "
                "%d (or in another order); training from scratch",
                pair, len(previous_features), len(feature_names),
            )  # fmt: skip
            return None
        logger.info("%s: continual_learning: continuing from the previous model's %d trees",
                    pair, booster.booster_.num_trees())  # fmt: skip
        return booster

    def _fit_calibrated(
        self,
        dd: dict[str, Any],
        cal_x: pd.DataFrame,
        cal_labels: pd.DataFrame,
        init_booster: Any | None = None,
    ) -> tuple[BarrierClassifier, npt.NDArray[np.int_], npt.NDArray[np.float64]]:
        """The calibrated model, and the calibration block's labels and raw scores.
        ``init_booster``: continue boosting from its trees (continual learning)."""

        def binary(frame: pd.DataFrame) -> npt.NDArray[np.int_]:
            return (frame.iloc[:, 0].astype(str) == TAKE_PROFIT).to_numpy(dtype=int)

        y_train, y_val, y_cal = (
            binary(dd["train_labels"]),
            binary(dd["test_labels"]),
            binary(cal_labels),
        )
        params = {**self.default_lgbm_parameters, **self.model_training_parameters}
        booster = lgb.LGBMClassifier(**params)
        has_validation = len(np.unique(y_val)) == 2
        booster.fit(
            dd["train_features"].to_numpy(),
            y_train,
            sample_weight=np.asarray(dd["train_weights"]),
            eval_X=dd["test_features"].to_numpy() if has_validation else None,
            eval_y=y_val if has_validation else None,
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)]
            if has_validation
            else None,
            init_model=init_booster,
        )
        model = BarrierClassifier(
            booster=booster,
            calibrator=ProbabilityCalibrator(method=self.calibration_method),
            feature_names=list(dd["train_features"].columns),
        )
        raw_cal = model.raw_probability(cal_x)
        model.calibrator.fit(raw_cal, y_cal)
        # With an init booster, LightGBM counts its trees too (best_iteration_ is absolute).
        init_trees = 0 if init_booster is None else int(init_booster.booster_.num_trees())
        model.metrics = {
            "best_iteration": int(booster.best_iteration_ or params["n_estimators"]),
            "warm_start_trees": init_trees,
            "train_raw": classification_metrics(
                y_train, model.raw_probability(dd["train_features"])
            ),
            "validation_raw": classification_metrics(
                y_val, model.raw_probability(dd["test_features"])
            ),
            # In-sample for the calibrator: out-of-sample calibration is measured by the
            # walk-forward evaluation (tribar evaluate), not here.
            "calibration_raw": classification_metrics(y_cal, raw_cal),
            "calibration_calibrated": classification_metrics(
                y_cal, model.calibrator.predict(raw_cal)
            ),
        }
        return model, y_cal, raw_cal

    def _gate_decision(
        self, evidence: EdgeEvidence, pair: str, dk: FreqaiDataKitchen,
        train_end: pd.Timestamp, calibration_dates: pd.Series,
    ) -> dict[str, Any]:  # fmt: skip
        """``edge_gate`` metrics: the test, the rule (tribar.ml.gate_rule) and its decision."""
        record = GateRecord(
            train_end=pd.Timestamp(train_end), calibration_start=calibration_dates.iloc[0],
            calibration_end=calibration_dates.iloc[-1], test_passed=evidence.passed,
            auc=evidence.auc, z=evidence.z,
        )  # fmt: skip
        minutes = self.label_horizon * timeframe_to_minutes(dk.config.get("timeframe", "1h"))
        history = GateHistory(Path(dk.data_path).parent / GATE_HISTORY_DIR)
        passed, previous, problem = judge(
            history, pair, record, self.edge_gate_rule, pd.Timedelta(minutes=minutes)
        )
        if problem:
            logger.warning("%s: %s", pair, problem)
        return {
            **evidence.as_dict(), "passed": passed, "test_passed": evidence.passed,
            "rule": self.edge_gate_rule, "calibration_start": record.as_dict()["calibration_start"],
            "calibration_end": record.as_dict()["calibration_end"],
            "previous": None if previous is None else previous.as_dict(),
        }  # fmt: skip

    def _apply_edge_gate(
        self, model: BarrierClassifier, evidence: EdgeEvidence, purged_df: pd.DataFrame,
        pair: str, dk: FreqaiDataKitchen, calibration_dates: pd.Series,
    ) -> None:  # fmt: skip
        cal = model.metrics["calibration_raw"]
        rate, rows = self.long_run_take_profit_rate(purged_df, pair, dk)
        gate = self._gate_decision(evidence, pair, dk, purged_df["date"].iloc[-1],
                                   calibration_dates)  # fmt: skip
        passed = bool(gate["passed"])
        if not passed:
            # NaN only when no label at all is known, which training already rules out.
            model.no_edge_rate = rate if np.isfinite(rate) else float(cal["base_rate"])
        model.metrics["edge_gate"] = gate
        model.metrics["long_run_take_profit_rate"] = {"rate": rate, "labels": rows}
        previous = gate["previous"]
        logger.info(
            "%s: edge gate %s (calibration-block AUC %s, z %s, required %.3f; rule %s%s); %s",
            pair, "passed" if passed else "not passed",
            "n/a" if evidence.auc is None else f"{evidence.auc:.3f}",
            "n/a" if evidence.z is None else f"{evidence.z:.2f}", evidence.z_required,
            self.edge_gate_rule,
            "" if self.edge_gate_rule == "single" else
            f", this test {'passed' if evidence.passed else 'failed'}, previous "
            + ("none" if previous is None else
               f"{'passed' if previous['test_passed'] else 'failed'} (trained to "
               f"{previous['train_end']})"),
            "calibrated probabilities" if passed
            else f"predicting the long-run take-profit rate {model.no_edge_rate:.3f} "
            f"({rows} labels)",
        )  # fmt: skip

    def _notify(self, message: str) -> None:
        """Through the strategy's DataProvider (FreqAI sets ``data_provider`` in ``start``):
        Freqtrade sends it to Telegram/webhooks in dry-run and live and drops it in backtests."""
        provider = getattr(self, "data_provider", None)
        if provider is None:
            return
        try:
            provider.send_msg(message, always_send=True)
        except Exception as exc:  # a notification must never break a training
            logger.warning("could not send %r: %s", message, exc)

    def predict(
        self, unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen, **kwargs: Any
    ) -> tuple[pd.DataFrame, npt.NDArray[np.int_]]:
        if dk.live:
            # `tribar models pin|rollback` takes effect at the next candle of a running bot.
            loaded: Any = getattr(self, "model", None)
            self.model = lifecycle.serve_registry_choice(loaded, dk, self.dd)
            lifecycle.note_live_source(self.model, dk, self._live_sources)
        if self.model is None:
            # No readable model at all (lifecycle.load_data_with_fallback found none).
            return self._no_predictions(len(unfiltered_df), dk)
        if isinstance(self.model, BarrierClassifier) and self.model.booster is None:
            return self._no_predictions(len(unfiltered_df), dk)
        unfiltered_df = self._only_trained_features(unfiltered_df, dk)
        predictions, do_predict = super().predict(unfiltered_df, dk, **kwargs)
        if not dk.live and isinstance(self.model, BarrierClassifier):
            # Backtests only: live FreqAI keeps running statistics of every numeric prediction
            # column and has none for this one. The features are the ones just transformed.
            predictions[TAKE_PROFIT_GATE_OFF] = self.model.calibrated_probability(
                dk.data_dictionary["prediction_features"]
            )
        features = unfiltered_df.filter(dk.training_features_list, axis=1).reset_index(drop=True)
        predictions, do_predict = mask_rows_with_missing_features(
            features, predictions, do_predict, [TAKE_PROFIT, NO_TAKE_PROFIT, TAKE_PROFIT_GATE_OFF]
        )
        dk.do_predict = do_predict
        return predictions, do_predict

    @staticmethod
    def _only_trained_features(unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen) -> pd.DataFrame:
        """FreqAI's predict re-derives the feature list from every ``%`` column; a model trained
        on selected features (``_apply_feature_selection``) must see only those."""
        trained_on = (getattr(dk, "data", None) or {}).get("training_features_list")
        if not trained_on:
            return unfiltered_df
        keep = set(trained_on)
        extra = [c for c in unfiltered_df.columns if "%" in c and c not in keep]
        return unfiltered_df.drop(columns=extra) if extra else unfiltered_df

    def _no_predictions(
        self, rows: int, dk: FreqaiDataKitchen
    ) -> tuple[pd.DataFrame, npt.NDArray[np.int_]]:
        """An untrained window: NaN probabilities and do_predict 0 on every row, in the layout
        FreqAI expects (label column holding a class name, one column per class)."""
        predictions = pd.DataFrame(
            {label: [NO_TAKE_PROFIT] * rows for label in dk.label_list}, dtype="str"
        )
        columns = [NO_TAKE_PROFIT, TAKE_PROFIT] + ([] if dk.live else [TAKE_PROFIT_GATE_OFF])
        for column in columns:
            predictions[column] = np.nan
        do_predict = np.zeros(rows, dtype=int)
        dk.do_predict = do_predict
        dk.DI_values = np.zeros(rows)
        return predictions, do_predict

    def fit(self, data_dictionary: dict[str, Any], dk: FreqaiDataKitchen, **kwargs: Any) -> Any:
        raise NotImplementedError("TripleBarrierClassifierBase trains in train(); fit() is unused")
