"""Out-of-sample discrimination and calibration of the model's P(take-profit).

FreqAI saves, per pair and walk-forward window, the predictions it made on the test window with
the model trained before it (``backtesting_predictions/cb_<coin>_<train end>_prediction.feather``:
``date``, ``tp`` = calibrated P(take-profit), ``do_predict``). The realised outcome of every
candle is recomputed here from the full candle history with ``tribar.labels`` and the strategy's
barrier geometry: FreqAI's own label column in those files is cut at each window's end (and for a
classifier holds the predicted class), so it is not the realised label. Only candles whose whole
barrier window lies in the data are scored.

Uncertainty: labels of neighbouring candles overlap (H-candle windows) and all pairs move
together, so rows are far from independent. Intervals resample whole days (every pair's
predictions of a day together), which keeps the cross-pair dependence and most of the overlap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import talib
from sklearn.metrics import roc_auc_score

from tribar.calibration import calibration_table, expected_calibration_error
from tribar.evaluate.data import pair_file
from tribar.labels import OUTCOME_TAKE_PROFIT, BarrierSpec, triple_barrier_labels
from tribar.ml.barrier_classifier import TAKE_PROFIT

PREDICTION_FILE = re.compile(r"^cb_(?P<coin>[a-z0-9]+)_(?P<trained>\d+)_prediction\.feather$")
BOOTSTRAP_SAMPLES = 300
N_BINS = 10


@dataclass(frozen=True)
class Calibration:
    n: int  # scored predictions
    n_without_label: int  # predictions whose barrier window runs past the data
    n_without_prediction: int  # NaN predictions (window without a trained model)
    windows: int  # model trainings that produced predictions (pairs x windows)
    base_rate: float  # realised take-profit rate
    mean_predicted: float
    auc: float
    auc_ci: tuple[float, float]
    ece: float
    ece_ci: tuple[float, float]
    table: pd.DataFrame  # tribar.calibration.calibration_table, deciles of P
    per_pair: pd.DataFrame  # pair, n, base_rate, mean_predicted, auc
    scored: pd.DataFrame  # pair, date, trained (window id), p_tp, y


def load_predictions(model_dir: Path, pairs: Iterable[str]) -> pd.DataFrame:
    """All saved backtest predictions of ``pairs``: pair, date, p_tp, do_predict, trained."""
    coins = {pair.split("/")[0].lower(): pair for pair in pairs}
    frames = []
    for path in sorted((model_dir / "backtesting_predictions").glob("*.feather")):
        match = PREDICTION_FILE.match(path.name)
        if match is None or match["coin"] not in coins:
            continue
        frame = pd.read_feather(path)
        probability = frame.get(TAKE_PROFIT, np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "pair": coins[match["coin"]],
                    "date": frame["date"],
                    "p_tp": pd.to_numeric(probability, errors="coerce"),
                    "do_predict": frame.get("do_predict", 1),
                    "trained": int(match["trained"]),
                }
            )
        )
    if not frames:
        raise FileNotFoundError(f"no FreqAI backtest predictions under {model_dir}")
    return pd.concat(frames, ignore_index=True)


def realised_labels(
    datadir: Path, pairs: Iterable[str], timeframe: str, spec: BarrierSpec, atr_period: int
) -> pd.DataFrame:
    """pair, date, outcome (1 take-profit, -1 stop, 0 vertical barrier, NaN incomplete)."""
    frames = []
    for pair in pairs:
        candles = pd.read_feather(datadir / pair_file(pair, timeframe))
        atr = talib.ATR(
            candles["high"].to_numpy(float), candles["low"].to_numpy(float),
            candles["close"].to_numpy(float), timeperiod=atr_period,
        )  # fmt: skip
        labels = triple_barrier_labels(candles, pd.Series(atr, index=candles.index), spec)
        frames.append(
            pd.DataFrame({"pair": pair, "date": candles["date"], "outcome": labels["outcome"]})
        )
    return pd.concat(frames, ignore_index=True)


def _auc(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64]) -> float:
    return float(roc_auc_score(y, p)) if np.unique(y).size == 2 else math.nan


def _day_bootstrap(
    scored: pd.DataFrame, seed: int = 0
) -> tuple[tuple[float, float], tuple[float, float]]:
    """95 % percentile intervals of AUC and ECE resampling whole days."""
    days = scored["date"].dt.floor("1D").to_numpy()
    unique_days, day_index = np.unique(days, return_inverse=True)
    rows_of_day = [np.flatnonzero(day_index == d) for d in range(unique_days.size)]
    y = scored["y"].to_numpy(int)
    p = scored["p_tp"].to_numpy(float)
    rng = np.random.default_rng(seed)
    aucs, eces = [], []
    for _ in range(BOOTSTRAP_SAMPLES):
        chosen = rng.integers(0, unique_days.size, unique_days.size)
        rows = np.concatenate([rows_of_day[d] for d in chosen])
        aucs.append(_auc(y[rows], p[rows]))
        eces.append(expected_calibration_error(y[rows], p[rows], n_bins=N_BINS))

    def interval(values: list[float]) -> tuple[float, float]:
        lo, hi = np.nanquantile(np.asarray(values), [0.025, 0.975])
        return float(lo), float(hi)

    return interval(aucs), interval(eces)


def score(
    predictions: pd.DataFrame, labels: pd.DataFrame, start: datetime, end: datetime
) -> Calibration:
    dates = predictions["date"]
    inside = (dates >= pd.Timestamp(start)) & (dates < pd.Timestamp(end))
    merged = predictions.loc[inside].merge(labels, on=["pair", "date"], how="left")
    has_prediction = merged["p_tp"].notna()
    has_label = merged["outcome"].notna()
    columns = ["pair", "date", "trained", "p_tp", "outcome"]
    scored = merged.loc[has_prediction & has_label, columns].copy()
    if scored.empty:
        raise ValueError("no prediction with a complete realised label to score")
    scored["y"] = (scored["outcome"] == OUTCOME_TAKE_PROFIT).astype(int)
    y, p = scored["y"].to_numpy(int), scored["p_tp"].to_numpy(float)
    auc_ci, ece_ci = _day_bootstrap(scored)
    per_pair = (
        scored.groupby("pair")
        .apply(
            lambda g: pd.Series(
                {
                    "n": len(g),
                    "base_rate": g["y"].mean(),
                    "mean_predicted": g["p_tp"].mean(),
                    "auc": _auc(g["y"].to_numpy(int), g["p_tp"].to_numpy(float)),
                }
            ),
            include_groups=False,
        )
        .reset_index()
    )
    return Calibration(
        n=len(scored),
        n_without_label=int((has_prediction & ~has_label).sum()),
        n_without_prediction=int((~has_prediction).sum()),
        windows=int(predictions[["pair", "trained"]].drop_duplicates().shape[0]),
        base_rate=float(y.mean()),
        mean_predicted=float(p.mean()),
        auc=_auc(y, p),
        auc_ci=auc_ci,
        ece=expected_calibration_error(y, p, n_bins=N_BINS),
        ece_ci=ece_ci,
        table=calibration_table(y, p, n_bins=N_BINS),
        per_pair=per_pair,
        scored=scored[["pair", "date", "trained", "p_tp", "y"]].reset_index(drop=True),
    )


def null_forecast_ece(
    scored: pd.DataFrame, labels: pd.DataFrame, train_days: float, horizon: int,
    candle: pd.Timedelta,
) -> float:  # fmt: skip
    """ECE of the forecast that knows nothing but the base rate: every prediction of a window
    replaced by the take-profit rate of that window's training labels (those complete before the
    training window ends). The yardstick for the model's ECE on the same rows and bins."""
    by_pair = {pair: frame for pair, frame in labels.groupby("pair")}
    rates = {}
    for pair, trained in scored[["pair", "trained"]].drop_duplicates().itertuples(index=False):
        end = pd.Timestamp(int(trained), unit="s", tz="UTC")
        frame = by_pair[pair]
        window = frame[
            (frame["date"] >= end - pd.Timedelta(days=train_days))
            & (frame["date"] < end - horizon * candle)
        ]["outcome"].dropna()
        rates[(pair, trained)] = float((window == OUTCOME_TAKE_PROFIT).mean())
    keys = zip(scored["pair"], scored["trained"], strict=True)
    forecast = np.array([rates[key] for key in keys])
    usable = np.isfinite(forecast)
    return expected_calibration_error(
        scored["y"].to_numpy(int)[usable], forecast[usable], n_bins=N_BINS
    )


@dataclass(frozen=True)
class TradeCalibration:
    """Predicted P(take-profit) at the signal candle of the trades taken vs how they ended."""

    n: int
    mean_predicted: float
    take_profit_rate: float  # exits at the take-profit barrier (Freqtrade exit reason "roi")
    take_profit_ci: tuple[float, float]  # Wilson 95 %


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    phat = successes / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def trade_calibration(
    trades: pd.DataFrame, predictions: pd.DataFrame, candle: pd.Timedelta
) -> TradeCalibration:
    if trades.empty:
        return TradeCalibration(0, math.nan, math.nan, (math.nan, math.nan))
    # A trade opens at the open of the candle after its signal candle.
    signals = pd.DataFrame({"pair": trades["pair"], "date": trades["open_date"] - candle})
    joined = signals.assign(tp_exit=(trades["exit_reason"] == "roi").to_numpy()).merge(
        predictions[["pair", "date", "p_tp"]], on=["pair", "date"], how="left"
    )
    joined = joined[joined["p_tp"].notna()]
    hits = int(joined["tp_exit"].sum())
    return TradeCalibration(
        n=len(joined),
        mean_predicted=float(joined["p_tp"].mean()) if len(joined) else math.nan,
        take_profit_rate=hits / len(joined) if len(joined) else math.nan,
        take_profit_ci=wilson_interval(hits, len(joined)),
    )
