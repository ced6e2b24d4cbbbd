"""One triple-barrier model per walk-forward window, trained on the rows of every whitelisted
pair and served to each of them (design 1 of issue 15).

A per-pair 90-day window holds about 90 independent 24-candle outcomes, too few for a model to
show an edge; stacking the rows of every whitelisted pair multiplies them (less so in
information than in rows: pairs move together, see the edge gate below).

Pooling lives *inside* FreqAI's model interface: FreqAI still calls ``train`` once per pair and
window and saves, loads and predicts per pair as always. The first ``train`` call of a window
builds the pooled training set from every whitelisted pair (each pair's features and labels for
the same training timerange, made by FreqAI's own data kitchen and the strategy's feature
engineering), fits and calibrates once, and caches the result; the other pairs' calls of that
window get the cached model (a copy carrying the pair's own fallback rate and metrics). Beside
FreqAI (a separate training loop) would have to re-implement its windows, saving and live
retraining queue; inside, only the training step changes.

The split is time-ordered across pairs: blocks are cut on timestamps, so every pair's train,
validation and calibration rows cover the same dates, with a purge of ``H`` and an embargo of
``E`` candles before each cut (no training row's label window reaches a later block for any
pair), and each pair's labels whose barrier runs past the window end blanked.

Edge gate: the calibration block holds rows of several pairs at each timestamp. Rows of the same
pair overlap by ``H`` candles (as for one pair), and rows of different pairs at one timestamp
are not independent either: crypto pairs move together. The gate therefore divides the class
counts by ``H * (1 + (m - 1) * rho)``, ``m`` the mean number of pairs per calibration timestamp
and ``rho`` the assumed correlation of their outcomes, ``freqai.tribar.pooled.
gate_pair_correlation`` (default 1: a timestamp's whole cross-section counts as one outcome, the
same effective count as one pair; conservative). The estimated label correlation is saved in the
metrics so the assumption can be checked.

Backtests: FreqAI trains pair by pair, every window of a pair before the next pair, so every
window's pooled model stays cached until the last pair has used it. Dry-run/live: FreqAI trains
pairs one after another in its background thread, each with its own "now" as the window end;
a pair reuses the cached pooled model while its window end is less than ``live_retrain_hours``
(at least one candle) after the cached one, else it trains a new pooled model, on every pair's
candles up to now, which the pairs after it reuse.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from time import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from freqtrade.configuration import TimeRange
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from tribar.ml import lifecycle, placebo
from tribar.ml.barrier_classifier import TAKE_PROFIT, BarrierClassifier
from tribar.ml.edge_gate import edge_evidence
from tribar.ml.freqai_model import (
    InsufficientTrainingDataError,
    TripleBarrierClassifierBase,
    purge_labels_at_window_end,
    three_block_split,
)
from tribar.ml.model_metrics import METRICS_FILE, POOLED_GATE_PAIR

logger = logging.getLogger(__name__)

SETTINGS_KEY = "pooled"  # freqai.tribar.pooled
TRAIN, VALIDATION, CALIBRATION, DROPPED = 0, 1, 2, -1

IntArray = npt.NDArray[np.int_]


@dataclass(frozen=True)
class PooledSettings:
    expanding_history: bool = False
    gate_pair_correlation: float = 1.0


def pooled_settings(freqai_info: dict[str, Any]) -> PooledSettings:
    """``freqai.tribar.pooled``; a ValueError names the bad key."""
    raw = (freqai_info.get("tribar") or {}).get(SETTINGS_KEY) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"freqai.tribar.{SETTINGS_KEY} must be an object, got {raw!r}")
    unknown = set(raw) - {f.name for f in dataclasses.fields(PooledSettings)}
    if unknown:
        raise ValueError(f"freqai.tribar.{SETTINGS_KEY}: unknown key(s) {sorted(unknown)}")
    expanding = raw.get("expanding_history", False)
    if not isinstance(expanding, bool):
        raise ValueError(
            f"freqai.tribar.{SETTINGS_KEY}.expanding_history must be true or false, "
            f"got {expanding!r}"
        )
    rho = raw.get("gate_pair_correlation", 1.0)
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0.0 <= rho <= 1.0:
        raise ValueError(
            f"freqai.tribar.{SETTINGS_KEY}.gate_pair_correlation must be a number in [0, 1], "
            f"got {rho!r}"
        )
    return PooledSettings(expanding_history=expanding, gate_pair_correlation=float(rho))


@dataclass(frozen=True)
class CrossPairSplit:
    """Per row: TRAIN, VALIDATION, CALIBRATION or DROPPED (purge/embargo gaps); the first
    timestamps of the validation and calibration blocks; each row's candle position on the
    regular grid from the first row's timestamp."""

    block: IntArray
    validation_start: pd.Timestamp
    calibration_start: pd.Timestamp
    position: IntArray
    grid_size: int


def cross_pair_time_split(
    dates: pd.Series | pd.DatetimeIndex,
    candle: pd.Timedelta,
    horizon: int,
    validation_fraction: float,
    calibration_fraction: float,
    embargo: int,
) -> CrossPairSplit:
    """The three-block split of ``three_block_split`` cut on timestamps shared by all pairs.

    The blocks are positions on the regular candle grid from the earliest to the latest row
    (whatever pair): a pair's row at ``t`` falls in the block holding ``t``. Because the grid is
    time itself (not a pair's row count), a pair with missing candles still gets the full
    ``horizon + embargo`` candles between its last training row and the next block. Raises
    ValueError when a block would be empty (as ``three_block_split``).
    """
    stamps = pd.DatetimeIndex(pd.to_datetime(dates, utc=True))
    if len(stamps) == 0:
        raise ValueError("no rows to split")
    first = stamps.min()
    offsets = (stamps - first) / candle
    if not np.allclose(offsets, np.round(offsets)):
        raise ValueError(f"row dates are not on the {candle} candle grid")
    position = np.round(np.asarray(offsets, dtype=float)).astype(int)
    grid_size = int(position.max()) + 1
    train_pos, val_pos, cal_pos = three_block_split(
        grid_size, horizon, validation_fraction, calibration_fraction, embargo
    )
    lookup = np.full(grid_size, DROPPED, dtype=int)
    lookup[train_pos], lookup[val_pos], lookup[cal_pos] = TRAIN, VALIDATION, CALIBRATION
    return CrossPairSplit(
        block=lookup[position],
        validation_start=first + int(val_pos[0]) * candle,
        calibration_start=first + int(cal_pos[0]) * candle,
        position=position,
        grid_size=grid_size,
    )


def recency_weights(position: IntArray, grid_size: int, weight_factor: float) -> npt.NDArray[Any]:
    """FreqAI's ``set_weights_higher_recent`` on time instead of row number: every pair's rows
    at one timestamp weigh the same."""
    if weight_factor <= 0:
        return np.ones(len(position))
    age = (grid_size - 1) - np.asarray(position, dtype=float)
    return np.asarray(np.exp(-age / (weight_factor * grid_size)), dtype=float)


def gate_overlap(horizon: int, rows: int, timestamps: int, correlation: float) -> float:
    """Rows per independent outcome in the pooled calibration block: ``H`` overlapping candles
    per pair, times the design effect ``1 + (m - 1) * rho`` of ``m`` pairs per timestamp whose
    outcomes correlate by ``rho``."""
    if timestamps < 1 or rows < 1:
        return float(max(horizon, 1))
    pairs_per_timestamp = rows / timestamps
    return max(horizon, 1) * (1.0 + (pairs_per_timestamp - 1.0) * correlation)


def label_correlation(dates: pd.Series, pairs: pd.Series, y: npt.ArrayLike) -> float | None:
    """Mean pairwise correlation across pairs of the take-profit outcome at equal timestamps
    (None with fewer than two pairs or constant outcomes): the data's answer to the gate's
    ``rho``."""
    table = pd.DataFrame(
        {"date": pd.to_datetime(dates, utc=True).to_numpy(), "pair": np.asarray(pairs),
         "y": np.asarray(y, dtype=float)}
    ).pivot_table(index="date", columns="pair", values="y", aggfunc="mean")  # fmt: skip
    if table.shape[1] < 2:
        return None
    corr = table.corr(min_periods=10).to_numpy()
    off_diagonal = corr[~np.eye(corr.shape[0], dtype=bool)]
    off_diagonal = off_diagonal[np.isfinite(off_diagonal)]
    return float(off_diagonal.mean()) if off_diagonal.size else None


def purge_labels_past(
    frame: pd.DataFrame, label_columns: list[str], stop: pd.Timestamp, candle: pd.Timedelta,
    horizon: int,
) -> pd.DataFrame:  # fmt: skip
    """Blank the labels of rows whose barrier window (candles ``t+1 … t+H``) ends at or after
    the window end ``stop`` (exclusive): by time, so a pair whose data ends early keeps none."""
    last_allowed = stop - (horizon + 1) * candle
    late = pd.to_datetime(frame["date"], utc=True) > last_allowed
    purged = frame.copy()
    columns = [c for c in label_columns if c in purged.columns]
    if columns and late.any():
        purged.loc[late.to_numpy(), columns] = np.nan
    return purged


@dataclass
class PooledWindow:
    """A window's pooled training, as the pairs after the first reuse it."""

    start: pd.Timestamp  # training timerange [start, stop)
    stop: pd.Timestamp
    trained_for: str  # the pair whose train call built it
    pairs: tuple[str, ...]
    features: list[str]
    model: BarrierClassifier
    pipeline: Any
    holdouts: dict[str, lifecycle.Holdout]
    train_seconds: float


class PooledTripleBarrierClassifier(TripleBarrierClassifierBase):
    """TripleBarrierClassifierBase whose first ``train`` of a window trains on every
    whitelisted pair's rows; needs a strategy with pair-agnostic feature names
    (``TripleBarrierMLPooled``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            self.pooled = pooled_settings(self.freqai_info)
        except ValueError as exc:
            raise OperationalException(str(exc)) from exc
        self._windows: dict[tuple[pd.Timestamp, pd.Timestamp], PooledWindow] = {}
        # Backtests: each pair's populated feature frame (all candles), built once.
        self._populated: dict[str, pd.DataFrame] = {}
        self._strategy: Any = None
        # Dry-run/live: FreqAI's (new_trained_timerange, data_load_timerange) of this training.
        self._live_request: tuple[TimeRange, TimeRange] | None = None

    # --- FreqAI entry points whose arguments the pooled training needs ------------------------
    def start(self, dataframe: pd.DataFrame, metadata: dict, strategy: Any) -> pd.DataFrame:
        self._strategy = strategy
        return super().start(dataframe, metadata, strategy)

    def extract_data_and_train_model(
        self, new_trained_timerange: TimeRange, pair: str, strategy: Any,
        dk: FreqaiDataKitchen, data_load_timerange: TimeRange,
    ) -> None:  # fmt: skip
        self._strategy = strategy
        # Copies: FreqAI's buffer_timerange shifts the object it is given in place.
        self._live_request = (copy.deepcopy(new_trained_timerange),
                              copy.deepcopy(data_load_timerange))  # fmt: skip
        super().extract_data_and_train_model(
            new_trained_timerange, pair, strategy, dk, data_load_timerange
        )

    # --- training -----------------------------------------------------------------------
    @property
    def candle(self) -> pd.Timedelta:
        return pd.Timedelta(minutes=timeframe_to_minutes(self.config.get("timeframe", "1h")))

    def _current_window(self, unfiltered_df: pd.DataFrame, dk: FreqaiDataKitchen) -> TimeRange:
        if dk.live:
            if self._live_request is None:
                raise OperationalException(
                    "pooled model: a live training outside FreqAI's extract_data_and_train_model"
                )
            return self._live_request[0]
        timerange = getattr(self, "training_timerange", None)
        if timerange is None:
            raise OperationalException("pooled model: no backtest training timerange")
        return timerange

    def _reusable(self, start: pd.Timestamp, stop: pd.Timestamp, pair: str, live: bool
                  ) -> PooledWindow | None:  # fmt: skip
        if not live:
            return self._windows.get((start, stop))
        if not self._windows:
            return None
        latest = max(self._windows.values(), key=lambda w: w.stop)
        hours = float(self.freqai_info.get("live_retrain_hours", 0) or 0)
        fresh_for = max(pd.Timedelta(hours=hours), self.candle)
        if pair in latest.pairs and pd.Timedelta(0) <= stop - latest.stop < fresh_for:
            return latest
        return None

    def _train_window(
        self, unfiltered_df: pd.DataFrame, pair: str, dk: FreqaiDataKitchen
    ) -> BarrierClassifier:
        timerange = self._current_window(unfiltered_df, dk)
        start = pd.Timestamp(timerange.startts, unit="s", tz="UTC")
        stop = pd.Timestamp(timerange.stopts, unit="s", tz="UTC")
        pooled = self._reusable(start, stop, pair, dk.live)
        if pooled is None:
            self._apply_feature_selection(pair, dk)
            pooled = self._train_pooled(start, stop, pair, dk)
            if dk.live:
                self._windows.clear()  # live keeps only the newest pooled model
            self._windows[(start, stop)] = pooled
        else:
            logger.info(
                "%s: serving the pooled model of window %s .. %s (trained with %s first, %d "
                "pairs)", pair, pooled.start, pooled.stop, pooled.trained_for, len(pooled.pairs),
            )  # fmt: skip
        return self._serve(pooled, unfiltered_df, pair, dk)

    def _whitelist(self, pair: str) -> list[str]:
        pairs: list[str] = []
        provider = getattr(self, "data_provider", None)
        if provider is not None:
            try:
                pairs = list(provider.current_whitelist())
            except Exception:  # no pairlist handler attached
                pairs = []
        if not pairs:
            pairs = list(self.config.get("exchange", {}).get("pair_whitelist") or [])
        return list(dict.fromkeys([*pairs, pair]))

    def _pair_frame(
        self, pair: str, start: pd.Timestamp, stop: pd.Timestamp, live: bool
    ) -> pd.DataFrame:
        """The pair's populated training frame for ``[start, stop)`` (or from its first candle
        with expanding history), exactly as FreqAI builds it for that pair's own training."""
        strategy = self._strategy
        if strategy is None:
            raise OperationalException("pooled model: FreqAI did not hand over the strategy")
        kitchen = FreqaiDataKitchen(self.config, live, pair)
        if live:
            assert self._live_request is not None
            corr, base = self.dd.get_base_and_corr_dataframes(self._live_request[1], pair, kitchen)
            full = kitchen.use_strategy_to_populate_indicators(
                strategy, corr_dataframes=corr, base_dataframes=base, pair=pair
            )
        else:
            populated = self._populated.get(pair)
            if populated is None:
                raw = strategy.dp.get_pair_dataframe(pair, self.config["timeframe"])
                populated = kitchen.use_strategy_to_populate_indicators(
                    strategy, prediction_dataframe=raw, pair=pair
                )
                self._populated[pair] = populated
            # As FreqAI's start_backtesting: labels on the frame cut at the window end.
            cut = populated.loc[populated["date"] < stop, :]
            full = strategy.set_freqai_targets(cut.copy(), metadata={"pair": pair})
        if not self.pooled.expanding_history:
            full = full.loc[full["date"] >= start, :]
        full = full.loc[full["date"] < stop, :]
        return kitchen.remove_special_chars_from_feature_names(full).reset_index(drop=True)

    def _block_fractions(self, dates: pd.Series, candle: pd.Timedelta) -> tuple[float, float]:
        """The validation and calibration fractions. With expanding history only the train block
        grows: the other two keep the size they have in a ``train_period_days`` window, so early
        stopping and the edge gate still judge the newest weeks, not a fifth of all history."""
        if not self.pooled.expanding_history:
            return self.validation_fraction, self.calibration_fraction
        span = pd.to_datetime(dates, utc=True).max() - pd.to_datetime(dates, utc=True).min()
        grid = span / candle + 1
        rolling = pd.Timedelta(days=float(self.freqai_info["train_period_days"])) / candle
        shrink = min(1.0, rolling / grid) if grid > 0 else 1.0
        return self.validation_fraction * shrink, self.calibration_fraction * shrink

    def _train_pooled(
        self, start: pd.Timestamp, stop: pd.Timestamp, caller: str, dk: FreqaiDataKitchen
    ) -> PooledWindow:
        started = time()
        horizon = self.label_horizon
        candle = self.candle
        feature_names = list(dk.training_features_list)
        parts: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.Series]] = []
        for pair in self._whitelist(caller):
            try:
                frame = self._pair_frame(pair, start, stop, dk.live)
                missing = [f for f in feature_names if f not in frame.columns]
                if missing:
                    raise OperationalException(
                        f"{len(missing)} of {caller}'s feature columns missing (e.g. "
                        f"{missing[0]!r}): the pooled model needs the same feature names on "
                        "every pair (strategy TripleBarrierMLPooled)"
                    )
                frame = purge_labels_at_window_end(frame, dk.label_list, horizon)
                frame = purge_labels_past(frame, dk.label_list, stop, candle, horizon)
                kitchen = FreqaiDataKitchen(self.config, dk.live, pair)
                features, labels = kitchen.filter_features(
                    frame, feature_names, dk.label_list, training_filter=True
                )
            except Exception as exc:
                # Raising here would reach FreqAI's fallback for a failed training, which
                # crashes on classifiers: a pair that cannot contribute is left out instead.
                logger.warning("%s: left out of the pooled training: %s: %s", pair,
                               type(exc).__name__, exc, exc_info=True)  # fmt: skip
                continue
            dates = pd.to_datetime(frame.loc[features.index, "date"], utc=True)
            parts.append((pair, features, labels, dates))
        pairs = tuple(p for p, *_ in parts)
        try:
            if not parts:
                raise InsufficientTrainingDataError("no pair has labelled training rows")
            features = pd.concat([p[1] for p in parts], ignore_index=True)
            labels = pd.concat([p[2] for p in parts], ignore_index=True)
            dates = pd.concat([p[3] for p in parts], ignore_index=True)
            pair_of = pd.Series(np.repeat(pairs, [len(p[1]) for p in parts]))
            if self.placebo_seed is not None:
                labels, kept = placebo.shuffled_pooled_labels(
                    labels, dates, pair_of, self.placebo_seed, stop, self.placebo_block
                )
                labels = labels.reset_index(drop=True)
                features, dates, pair_of = (
                    x.loc[kept].reset_index(drop=True) for x in (features, dates, pair_of)
                )
            n = len(features)
            if n < self.min_training_rows:
                raise InsufficientTrainingDataError(
                    f"{n} labelled pooled rows; need at least {self.min_training_rows}"
                )
            embargo = int(self.freqai_info.get("tribar", {}).get("embargo_candles", horizon))
            validation_fraction, calibration_fraction = self._block_fractions(dates, candle)
            split = cross_pair_time_split(
                dates, candle, horizon, validation_fraction, calibration_fraction, embargo
            )
        except ValueError as exc:
            logger.warning(
                "pooled window %s .. %s (%s first): not trained, no entries for any pair until "
                "the next training: %s", start, stop, caller, exc,
            )  # fmt: skip
            model = BarrierClassifier.untrained(str(exc), feature_names)
            return PooledWindow(start, stop, caller, pairs or (caller,), feature_names, model,
                                self.define_data_pipeline(threads=dk.thread_count), {},
                                round(time() - started, 3))  # fmt: skip

        weight_factor = self.freqai_info["feature_parameters"].get("weight_factor", 0)
        weights = recency_weights(split.position, split.grid_size, weight_factor)
        train, val, cal = (np.flatnonzero(split.block == b) for b in (TRAIN, VALIDATION,
                                                                          CALIBRATION))  # fmt: skip
        pipeline = self.define_data_pipeline(threads=dk.thread_count)
        train_x, train_y, train_w = pipeline.fit_transform(
            features.iloc[train], labels.iloc[train], weights[train]
        )
        val_x, val_y, val_w = pipeline.transform(features.iloc[val], labels.iloc[val], weights[val])
        cal_x, cal_y_frame, _ = pipeline.transform(
            features.iloc[cal], labels.iloc[cal], weights[cal]
        )
        dd = {
            "train_features": train_x, "test_features": val_x,
            "train_labels": train_y, "test_labels": val_y,
            "train_weights": train_w, "test_weights": val_w,
        }  # fmt: skip
        blocks = {"train": TRAIN, "validation": VALIDATION, "calibration": CALIBRATION}
        per_pair = {
            p: {name: int(((split.block == b) & (pair_of == p).to_numpy()).sum())
                for name, b in blocks.items()}
            for p in pairs
        }  # fmt: skip
        logger.info(
            "pooled triple-barrier training for window %s .. %s (%s first): %d pairs (%s), "
            "%d rows, validation %d, calibration %d (cut on timestamps %s / %s; purge %d + "
            "embargo %d candles at each cut), %d features",
            start, stop, caller, len(pairs), ", ".join(pairs), len(train), len(val), len(cal),
            split.validation_start, split.calibration_start, horizon, embargo, train_x.shape[1],
        )  # fmt: skip
        if self.continual_learning:
            logger.warning("pooled model: continual_learning is ignored (no per-pair warm start)")
        model, y_cal, raw_cal = self._fit_calibrated(dd, cal_x, cal_y_frame)
        cal_dates = dates.iloc[cal].reset_index(drop=True)
        cal_pairs = pair_of.iloc[cal].reset_index(drop=True)
        rho_estimate = label_correlation(cal_dates, cal_pairs, y_cal)
        timestamps = int(cal_dates.nunique())
        overlap = gate_overlap(horizon, len(cal), timestamps, self.pooled.gate_pair_correlation)
        model.metrics["pooled"] = {
            "window_start": str(start), "window_stop": str(stop),
            "expanding_history": self.pooled.expanding_history,
            "trained_for": caller, "pairs": list(pairs), "rows": per_pair,
            "validation_start": str(split.validation_start),
            "calibration_start": str(split.calibration_start),
            "calibration_timestamps": timestamps,
            "gate_pair_correlation": self.pooled.gate_pair_correlation,
            "label_correlation_estimate": rho_estimate,
            "gate_rows_per_outcome": overlap,
        }  # fmt: skip
        if self.placebo_seed is not None:
            model.metrics["placebo"] = {
                "shuffle_seed": self.placebo_seed, "block_rows": self.placebo_block,
                "permuted": "timestamps, one permutation for every pair",
            }  # fmt: skip
        z_required = self.edge_gate_z
        if z_required is not None:
            evidence = edge_evidence(y_cal, raw_cal, max(1, math.ceil(overlap)), z_required)
            order = cal_dates.sort_values().reset_index(drop=True)
            gate = self._gate_decision(evidence, POOLED_GATE_PAIR, dk, dates.max(), order)
            model.metrics["edge_gate"] = gate
            logger.info(
                "pooled edge gate %s (calibration-block AUC %s, z %s, required %.3f; %d rows of "
                "%d pairs at %d timestamps, %.1f rows per independent outcome (label correlation "
                "across pairs assumed %.2f, estimated %s); rule %s)",
                "passed" if gate["passed"] else "not passed",
                "n/a" if evidence.auc is None else f"{evidence.auc:.3f}",
                "n/a" if evidence.z is None else f"{evidence.z:.2f}", z_required, len(cal),
                len(pairs), timestamps, overlap, self.pooled.gate_pair_correlation,
                "n/a" if rho_estimate is None else f"{rho_estimate:.2f}", self.edge_gate_rule,
            )  # fmt: skip
        holdouts: dict[str, lifecycle.Holdout] = {}
        raw_features = features.iloc[cal].reset_index(drop=True)
        raw_labels = labels.iloc[cal].reset_index(drop=True)
        for p in pairs:
            mask = (cal_pairs == p).to_numpy()
            if mask.any():
                holdouts[p] = lifecycle.Holdout(
                    features=raw_features.loc[mask], labels=raw_labels.loc[mask],
                    dates=cal_dates.loc[mask], y=y_cal[mask], candidate_raw=raw_cal[mask],
                )  # fmt: skip
        return PooledWindow(
            start=start, stop=stop, trained_for=caller, pairs=pairs,
            features=list(features.columns), model=model, pipeline=pipeline, holdouts=holdouts,
            train_seconds=round(time() - started, 3),
        )  # fmt: skip

    def _serve(
        self, pooled: PooledWindow, unfiltered_df: pd.DataFrame, pair: str, dk: FreqaiDataKitchen
    ) -> BarrierClassifier:
        """This pair's copy of the pooled model, with FreqAI's per-pair bookkeeping (feature
        list, fitted pipeline, data dictionary) set up on its data kitchen."""
        horizon = self.label_horizon
        unfiltered_df = purge_labels_at_window_end(unfiltered_df, dk.label_list, horizon)
        missing = [f for f in pooled.features if f not in unfiltered_df.columns]
        if missing:
            reason = (f"{len(missing)} pooled feature columns missing from the pair's frame "
                      f"(e.g. {missing[0]!r})")  # fmt: skip
            logger.warning("%s: not trained, no entries until the next training: %s", pair, reason)
            empty = unfiltered_df.iloc[:0]
            return self._untrained(reason, empty.filter(dk.training_features_list, axis=1),
                                   empty.filter(dk.label_list, axis=1), dk)  # fmt: skip
        dk.training_features_list = list(pooled.features)
        try:
            features, labels = dk.filter_features(
                unfiltered_df, dk.training_features_list, dk.label_list, training_filter=True
            )
        except OperationalException as exc:
            logger.warning("%s: not trained, no entries until the next training: %s", pair, exc)
            empty = unfiltered_df.iloc[:0]
            return self._untrained(str(exc), empty.filter(pooled.features, axis=1),
                                   empty.filter(dk.label_list, axis=1), dk)  # fmt: skip
        if pooled.model.booster is None:
            return self._untrained(str(pooled.model.metrics.get("untrained")), features, labels,
                                   dk)  # fmt: skip
        # FreqAI saves the data dictionary's train block with the model; the pair's own rows
        # through the pooled pipeline keep that file meaningful per pair.
        weights = np.ones(len(features))
        dk.build_data_dictionary(
            features, features.iloc[:0], labels, labels.iloc[:0], weights, weights[:0]
        )
        dk.fit_labels()
        dk.feature_pipeline = pooled.pipeline
        dd = dk.data_dictionary
        dd["train_features"], dd["train_labels"], dd["train_weights"] = pooled.pipeline.transform(
            features, labels, weights
        )
        model = dataclasses.replace(pooled.model, metrics=copy.deepcopy(pooled.model.metrics))
        gate = model.metrics.get("edge_gate")
        if gate is not None:
            rate, rows = self.long_run_take_profit_rate(unfiltered_df, pair, dk)
            model.metrics["long_run_take_profit_rate"] = {"rate": rate, "labels": rows}
            if not gate["passed"]:
                # The pair's own long-run rate, as the per-pair model: pooling changes how the
                # edge is tested, not what a pair without one predicts.
                fallback = float((labels.iloc[:, 0].astype(str) == TAKE_PROFIT).mean())
                model.no_edge_rate = rate if np.isfinite(rate) else fallback
                logger.info("%s: pooled edge gate not passed; predicting the pair's long-run "
                            "take-profit rate %.3f (%d labels)", pair, model.no_edge_rate,
                            rows)  # fmt: skip
        self._holdout = pooled.holdouts.get(pair)
        model.metrics["pair"] = pair
        model.metrics["pooled"]["served_pair"] = pair
        model.metrics["train_seconds"] = pooled.train_seconds if pooled.trained_for == pair else 0.0
        model.metrics["train_end"] = str(unfiltered_df["date"].iloc[-1])
        dk.data_path.mkdir(parents=True, exist_ok=True)
        (dk.data_path / METRICS_FILE).write_text(json.dumps(model.metrics, indent=1, default=str))
        return model
