"""The model-level study: LightGBM and barrier designs scored out of sample.

What Freqtrade's hyperopt cannot reach (it reuses FreqAI's trained models): the booster's
capacity and regularisation, the barrier geometry that defines the labels (``k_tp``, ``k_sl``,
horizon) and the indicator periods. Each design is scored by purged, embargoed walk-forward
cross-validation per pair: expanding training blocks, each followed by a test block it never saw;
training rows whose label window reaches the embargo before the test block are dropped.

The study lives in Optuna's RDB storage (SQLite by default, PostgreSQL by URL), so any number of
worker processes on any number of machines join one study, and a killed worker's trial is marked
failed by Optuna's heartbeat and re-run by the next worker (no home-made queue).
"""

from __future__ import annotations

import math
import os
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import optuna
import pandas as pd
import sqlalchemy.exc
import talib.abstract as ta
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from sklearn.metrics import log_loss, roc_auc_score

from tribar.analysis.analytics.performance import deflated_sharpe_ratio
from tribar.labels import BarrierSpec, triple_barrier_labels
from tribar.tuning.study_features import barrier_features, check_candles

# Periods of the indicator families a trial may choose (config.json ships 12 and 24).
FEATURE_SETS: Mapping[str, tuple[int, ...]] = {
    "fast": (6, 12),
    "standard": (12, 24),
    "slow": (24, 72),
    "wide": (6, 24, 96),
}
HORIZONS = (12, 24, 48, 96)
ATR_PERIOD = 14


@dataclass(frozen=True)
class ModelDesign:
    """One point of the search space: booster parameters, barrier geometry, feature set."""

    num_leaves: int = 15
    learning_rate: float = 0.05
    n_estimators: int = 200
    min_child_samples: int = 50
    reg_lambda: float = 1.0
    k_tp: float = 3.0
    k_sl: float = 1.5
    horizon: int = 24
    feature_set: str = "standard"

    def __post_init__(self) -> None:
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(
                f"ModelDesign.feature_set: {self.feature_set!r} is not one of "
                f"{sorted(FEATURE_SETS)}"
            )

    def booster_params(self) -> dict[str, Any]:
        return {
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "n_estimators": self.n_estimators,
            "min_child_samples": self.min_child_samples,
            "reg_lambda": self.reg_lambda,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "n_jobs": 1,
            "verbose": -1,
        }


# The shipped model in the study's terms: TripleBarrierLGBM's booster defaults, the strategy's
# barriers (k_tp 3, k_sl 1.5, 24 candles) and config.json's indicator periods. The shipped model
# stops early at up to 600 trees; a fixed 200 stands in for that here.
# tests/evaluate/test_study_report.py checks these against the model, strategy and config.
SHIPPED_DESIGN = ModelDesign(
    num_leaves=15, learning_rate=0.03, n_estimators=200, min_child_samples=100, reg_lambda=5.0
)


def suggest_design(trial: optuna.Trial) -> ModelDesign:
    return ModelDesign(
        num_leaves=trial.suggest_int("num_leaves", 4, 63, log=True),
        learning_rate=trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        n_estimators=trial.suggest_int("n_estimators", 50, 400, log=True),
        min_child_samples=trial.suggest_int("min_child_samples", 10, 200, log=True),
        reg_lambda=trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        k_tp=trial.suggest_float("k_tp", 1.0, 6.0, step=0.5),
        k_sl=trial.suggest_float("k_sl", 0.5, 4.0, step=0.5),
        horizon=trial.suggest_categorical("horizon", HORIZONS),
        feature_set=trial.suggest_categorical("feature_set", sorted(FEATURE_SETS)),
    )


@dataclass(frozen=True)
class Fold:
    train: npt.NDArray[np.int64]
    test: npt.NDArray[np.int64]


def purged_walk_forward_folds(n: int, n_folds: int, horizon: int, embargo: int) -> list[Fold]:
    """Expanding-window folds over ``n`` time-ordered rows.

    The rows are cut into ``n_folds + 1`` equal blocks; fold ``k`` tests on block ``k + 1`` and
    trains on the rows before it whose label window ``t+1 … t+horizon`` ends before the
    ``embargo`` candles that precede the test block (``t <= test_start - embargo - horizon - 1``).
    """
    for name, value in (("n", n), ("n_folds", n_folds), ("horizon", horizon), ("embargo", embargo)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(
                f"purged_walk_forward_folds: {name} must be an int >= 0, got {value!r}"
            )
    if n_folds < 1:
        raise ValueError(f"purged_walk_forward_folds: n_folds must be >= 1, got {n_folds}")
    block = n // (n_folds + 1)
    folds = []
    for k in range(n_folds):
        test_start = (k + 1) * block
        test_stop = n if k == n_folds - 1 else test_start + block
        train_stop = test_start - embargo - horizon
        if train_stop < 1 or test_stop <= test_start:
            raise ValueError(
                f"purged_walk_forward_folds: {n} rows in {n_folds + 1} blocks leave fold {k} "
                f"without training rows (horizon {horizon}, embargo {embargo})"
            )
        folds.append(
            Fold(
                np.arange(train_stop, dtype=np.int64),
                np.arange(test_start, test_stop, dtype=np.int64),
            )
        )
    return folds


@dataclass(frozen=True)
class LabelledPair:
    features: pd.DataFrame
    take_profit: npt.NDArray[np.float64]  # 1.0 take-profit first, 0.0 not, NaN unlabelled
    ret_net: npt.NDArray[np.float64]
    hold: npt.NDArray[np.float64]
    break_even: npt.NDArray[np.float64]  # P(take-profit) at which the barrier trade breaks even


def label_pair(candles: pd.DataFrame, design: ModelDesign, fee: float) -> LabelledPair:
    check_candles(candles, "label_pair")
    spec = BarrierSpec(k_tp=design.k_tp, k_sl=design.k_sl, horizon=design.horizon, fee=fee)
    atr = pd.Series(ta.ATR(candles, timeperiod=ATR_PERIOD), index=candles.index)
    labels = triple_barrier_labels(candles, atr, spec)
    outcome = labels["outcome"].to_numpy(dtype=float)
    take_profit = np.where(np.isnan(outcome), np.nan, (outcome == 1.0).astype(float))
    entry = labels["entry_price"].to_numpy(dtype=float)
    win = (labels["tp_price"].to_numpy(dtype=float) * (1 - fee)) / (entry * (1 + fee)) - 1
    loss = (labels["sl_price"].to_numpy(dtype=float) * (1 - fee)) / (entry * (1 + fee)) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        break_even = -loss / (win - loss)
    return LabelledPair(
        features=barrier_features(candles, FEATURE_SETS[design.feature_set]),
        take_profit=take_profit,
        ret_net=labels["ret_net"].to_numpy(dtype=float),
        hold=labels["hold"].to_numpy(dtype=float),
        break_even=break_even,
    )


def non_overlapping_trades(
    take: npt.NDArray[np.bool_], hold: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Rows entered when one position per pair is allowed: a signal during an open trade is
    ignored, as the strategy ignores entry signals for a pair it already holds."""
    rows: list[int] = []
    free_from = 0
    for t in np.flatnonzero(take):
        if t >= free_from and np.isfinite(hold[t]):
            rows.append(int(t))
            free_from = int(t) + int(hold[t])
    return np.asarray(rows, dtype=np.int64)


@dataclass
class DesignScore:
    """Out-of-sample figures of one design, pooled over pairs and folds."""

    auc: float
    log_loss: float
    n_predictions: int
    n_trades: int
    trade_returns: list[float] = field(default_factory=list)

    @property
    def mean_trade_return(self) -> float:
        return float(np.mean(self.trade_returns)) if self.trade_returns else 0.0

    @property
    def net_return(self) -> float:
        """Compounded net return of the barrier trades taken, one stake per trade."""
        return (
            float(np.prod(1.0 + np.asarray(self.trade_returns)) - 1.0)
            if self.trade_returns
            else 0.0
        )

    @property
    def trade_t_stat(self) -> float:
        """The study's objective: mean / population std x sqrt(n) of the trade returns.

        Comparable across barrier geometries (AUC and log-loss are not: a wider barrier changes
        the class balance and what an easy prediction is), and it grows with the evidence, so a
        design with a handful of lucky trades does not top the study. 0 for a flat design.
        """
        sharpe = self.trade_sharpe
        return 0.0 if not math.isfinite(sharpe) else sharpe * math.sqrt(len(self.trade_returns))

    @property
    def trade_sharpe(self) -> float:
        """Per-trade Sharpe (mean / population std); NaN with fewer than two trades."""
        r = np.asarray(self.trade_returns)
        if r.size < 2 or float(r.std()) == 0.0:
            return math.nan
        return float(r.mean() / r.std())


def score_design(
    candles_by_pair: Mapping[str, pd.DataFrame],
    design: ModelDesign,
    *,
    fee: float = 0.001,
    n_folds: int = 4,
    embargo: int = 24,
) -> DesignScore:
    """Train per pair and fold; predict each test block; take the barrier trades whose
    predicted P(take-profit) is above the break-even probability of their geometry."""
    y_all: list[npt.NDArray[np.float64]] = []
    p_all: list[npt.NDArray[np.float64]] = []
    returns: list[float] = []
    for pair, candles in candles_by_pair.items():
        data = label_pair(candles, design, fee)
        x = data.features.to_numpy(dtype=float)
        try:
            folds = purged_walk_forward_folds(len(x), n_folds, design.horizon, embargo)
        except ValueError:
            continue  # too few candles for this horizon: no prediction, no trade
        for fold in folds:
            train = fold.train[np.isfinite(data.take_profit[fold.train])]
            y_train = data.take_profit[train]
            if train.size < 50 or np.unique(y_train).size < 2:
                continue  # nothing to learn in this block: no prediction, no trade
            model = lgb.LGBMClassifier(**design.booster_params())
            model.fit(x[train], y_train.astype(int))
            test = fold.test[np.isfinite(data.take_profit[fold.test])]
            if test.size == 0:
                continue
            p = np.asarray(model.predict_proba(x[test]), dtype=float)[:, 1]
            y_all.append(data.take_profit[test])
            p_all.append(p)
            take = np.zeros(len(x), dtype=bool)
            take[test] = p > data.break_even[test]
            entered = non_overlapping_trades(take, data.hold)
            returns.extend(float(r) for r in data.ret_net[entered])
        del pair
    if not y_all:
        return DesignScore(math.nan, math.nan, 0, 0, [])
    y, p = np.concatenate(y_all).astype(int), np.clip(np.concatenate(p_all), 1e-6, 1 - 1e-6)
    auc = float(roc_auc_score(y, p)) if np.unique(y).size == 2 else math.nan
    return DesignScore(
        auc, float(log_loss(y, p, labels=[0, 1])), int(y.size), len(returns), returns
    )


@dataclass(frozen=True)
class StudySettings:
    storage: str
    study_name: str
    n_trials: int
    fee: float = 0.001
    n_folds: int = 4
    embargo: int = 24
    seed: int | None = None
    # What the candles are (recorded with the study, so a report can score other designs on the
    # same data, and a worker with other data cannot join the study).
    timeframe: str = "1h"
    # Optuna's heartbeat: a trial whose worker stopped beating for grace_seconds is failed and
    # re-run (a copy with the same parameters) by the next worker.
    heartbeat_seconds: int = 10
    grace_seconds: int = 30


def _rdb_storage(settings: StudySettings) -> RDBStorage:
    with warnings.catch_warnings():
        # Heartbeats and their retry callback are "experimental" in Optuna since 2.8; the
        # tests in tests/tuning pin down the behaviour relied on here.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(
            settings.storage,
            heartbeat_interval=settings.heartbeat_seconds,
            grace_period=settings.grace_seconds,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
        )


def open_study(settings: StudySettings, *, seed: int | None = None) -> optuna.Study:
    # Workers started together on an empty database race to create Optuna's tables; the
    # loser sees a duplicate-table error and finds the tables there a moment later.
    for attempt in range(5):
        try:
            storage = _rdb_storage(settings)
            break
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    return optuna.create_study(
        study_name=settings.study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=10),
    )


def run_worker(
    settings: StudySettings,
    candles_by_pair: Mapping[str, pd.DataFrame],
    *,
    worker: str | None = None,
) -> optuna.Study:
    """Join the study and run trials until it holds ``n_trials`` finished ones.

    The objective is ``DesignScore.trade_t_stat`` (maximised)."""
    worker_id = worker or f"{os.uname().nodename}:{os.getpid()}"
    # Each worker its own seed (from its name): equal seeds would make two workers sample the
    # same designs; a named worker with a seed repeats its own sequence.
    seed = (
        None if settings.seed is None else settings.seed + zlib.crc32(worker_id.encode()) % 10_000
    )
    study = open_study(settings, seed=seed)
    _record_data(study, data_settings(settings, candles_by_pair))
    if _finished(study) >= settings.n_trials:
        return study

    def objective(trial: optuna.Trial) -> float:
        design = suggest_design(trial)
        trial.set_user_attr("worker", worker_id)
        score = score_design(
            candles_by_pair, design, fee=settings.fee, n_folds=settings.n_folds,
            embargo=settings.embargo,
        )  # fmt: skip
        trial.set_user_attr("auc", score.auc)
        trial.set_user_attr("log_loss", score.log_loss)
        trial.set_user_attr("n_trades", score.n_trades)
        trial.set_user_attr("net_return", score.net_return)
        trial.set_user_attr("trade_sharpe", score.trade_sharpe)
        trial.set_user_attr("trade_returns", score.trade_returns)
        if score.n_predictions == 0:
            raise optuna.TrialPruned("no test block could be trained and predicted")
        return score.trade_t_stat

    study.optimize(
        objective,
        callbacks=[
            MaxTrialsCallback(settings.n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
        ],
    )
    return study


DATA_ATTR = "tribar_data"


def data_settings(
    settings: StudySettings, candles_by_pair: Mapping[str, pd.DataFrame]
) -> dict[str, Any]:
    """What every trial of a study is scored on: pairs, candle range and scoring settings."""
    dates = [c["date"] for c in candles_by_pair.values() if len(c)]
    return {
        "pairs": sorted(candles_by_pair),
        "timeframe": settings.timeframe,
        "first_candle": str(min(d.iloc[0] for d in dates)) if dates else None,
        "last_candle": str(max(d.iloc[-1] for d in dates)) if dates else None,
        "fee": settings.fee,
        "n_folds": settings.n_folds,
        "embargo": settings.embargo,
    }


def _record_data(study: optuna.Study, data: dict[str, Any]) -> None:
    recorded = study.user_attrs.get(DATA_ATTR)
    if recorded is None:
        study.set_user_attr(DATA_ATTR, data)
    elif recorded != data:
        # Trials scored on other data are not comparable: mixing them would make the best
        # trial and its deflated Sharpe ratio meaningless.
        raise ValueError(
            f"study {study.study_name!r} was scored on {recorded}; this worker has {data}. "
            "Join it with the same pairs, range, timeframe, fee, folds and embargo, or use "
            "another --study-name"
        )


def study_data(study: optuna.Study) -> dict[str, Any] | None:
    """The data settings a study recorded (None for a study made before they were recorded)."""
    value = study.user_attrs.get(DATA_ATTR)
    return dict(value) if isinstance(value, dict) else None


def _finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str
    objective: float | None
    auc: float | None
    log_loss: float | None
    n_trades: int | None
    net_return: float | None
    trade_sharpe: float | None
    worker: str | None
    params: dict[str, Any]


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        a = t.user_attrs
        rows.append(
            TrialRow(
                t.number,
                t.state.name,
                t.value,
                a.get("auc"),
                a.get("log_loss"),
                a.get("n_trades"),
                a.get("net_return"),
                a.get("trade_sharpe"),
                a.get("worker"),
                dict(t.params),
            )
        )
    return rows


def best_design_dsr(study: optuna.Study) -> tuple[TrialRow, float] | None:
    """The best completed trial and the deflated Sharpe ratio of its barrier trades, deflated
    for every completed trial of the study (per-trade Sharpe; variance across the trials)."""
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        return None
    best = max(done, key=lambda t: t.value if t.value is not None else -math.inf)
    sharpes = [t.user_attrs.get("trade_sharpe") for t in done]
    finite = [s for s in sharpes if s is not None and math.isfinite(s)]
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    returns = best.user_attrs.get("trade_returns") or []
    dsr = deflated_sharpe_ratio(returns, len(done), variance) if len(returns) > 2 else math.nan
    row = next(r for r in trial_rows(study) if r.number == best.number)
    return row, float(dsr)


def design_of(params: Mapping[str, Any]) -> ModelDesign:
    known = {k: v for k, v in params.items() if k in asdict(ModelDesign())}
    return ModelDesign(**known)


def load_candles(
    datadir: os.PathLike[str] | str, pairs: Sequence[str], timeframe: str, start: str, end: str
) -> dict[str, pd.DataFrame]:
    """Bundled-format feather candles of each pair in [start, end); clear errors on gaps."""
    from pathlib import Path

    from tribar.evaluate.data import pair_file

    out: dict[str, pd.DataFrame] = {}
    for pair in pairs:
        path = Path(datadir) / pair_file(pair, timeframe)
        if not path.is_file():
            raise FileNotFoundError(f"model study: no {timeframe} candles for {pair} at {path}")
        frame = pd.read_feather(path)
        inside = (frame["date"] >= pd.Timestamp(start, tz="UTC")) & (
            frame["date"] < pd.Timestamp(end, tz="UTC")
        )
        candles = frame.loc[inside].reset_index(drop=True)
        if len(candles) < 500:
            raise ValueError(
                f"model study: {pair} has {len(candles)} {timeframe} candles in {start}..{end} "
                f"in {path}; expected at least 500"
            )
        out[pair] = candles
    return out
