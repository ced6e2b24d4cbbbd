"""OOS scoring of saved FreqAI predictions against realised triple-barrier outcomes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tribar.calibration import calibration_table, expected_calibration_error
from tribar.evaluate import oos
from tribar.evaluate.data import pair_file
from tribar.labels import BarrierSpec, triple_barrier_labels
from tribar.ml.model_metrics import edge_gate_openings

START = pd.Timestamp("2025-01-01", tz="UTC")
END = pd.Timestamp("2025-01-11", tz="UTC")


def write_predictions(model_dir: Path, coin: str, trained: int, frame: pd.DataFrame) -> None:
    folder = model_dir / "backtesting_predictions"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_feather(folder / f"cb_{coin}_{trained}_prediction.feather")


def test_load_predictions_maps_files_to_pairs(tmp_path: Path) -> None:
    dates = pd.date_range(START, periods=3, freq="1h", tz="UTC")
    window = pd.DataFrame(
        {"date": dates, "&-tb": ["tp", "no_tp", "tp"], "no_tp": [0.4, 0.7, 0.2],
         "tp": [0.6, 0.3, 0.8], "do_predict": [1.0, 1.0, 0.0]}
    )  # fmt: skip
    write_predictions(tmp_path, "btc", 1735689600, window)
    write_predictions(tmp_path, "eth", 1735689600, window.assign(tp=np.nan))
    write_predictions(tmp_path, "doge", 1735689600, window)  # not a requested pair
    (tmp_path / "backtesting_predictions" / "notes.feather").write_bytes(b"")

    loaded = oos.load_predictions(tmp_path, ["BTC/USDT", "ETH/USDT"])

    assert sorted(loaded["pair"].unique()) == ["BTC/USDT", "ETH/USDT"]
    btc = loaded[loaded["pair"] == "BTC/USDT"]
    assert list(btc["p_tp"]) == [0.6, 0.3, 0.8]
    assert list(btc["do_predict"]) == [1.0, 1.0, 0.0]
    assert (btc["trained"] == 1735689600).all()
    assert loaded.loc[loaded["pair"] == "ETH/USDT", "p_tp"].isna().all()
    with pytest.raises(FileNotFoundError):
        oos.load_predictions(tmp_path / "missing", ["BTC/USDT"])


def test_realised_labels_are_the_strategy_labels(tmp_path: Path) -> None:
    import talib

    rng = np.random.default_rng(0)
    n = 300
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    candles = pd.DataFrame(
        {"date": pd.date_range(START, periods=n, freq="1h", tz="UTC"),
         "open": np.r_[100, close[:-1]], "close": close, "volume": 1.0}
    )  # fmt: skip
    candles["high"] = candles[["open", "close"]].max(axis=1) * 1.004
    candles["low"] = candles[["open", "close"]].min(axis=1) * 0.996
    candles.to_feather(tmp_path / pair_file("BTC/USDT", "1h"))
    spec = BarrierSpec(3.0, 1.5, 24, 0.001)

    labels = oos.realised_labels(tmp_path, ["BTC/USDT"], "1h", spec, 14)

    atr = pd.Series(talib.ATR(candles["high"], candles["low"], candles["close"], 14))
    expected = triple_barrier_labels(candles, atr, spec)["outcome"]
    pd.testing.assert_series_equal(labels["outcome"], expected, check_names=False)
    assert labels["outcome"].tail(24).isna().all()  # incomplete windows stay unlabelled


def synthetic(n_days: int = 10, pairs: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")) -> tuple[
    pd.DataFrame, pd.DataFrame
]:  # fmt: skip
    rng = np.random.default_rng(7)
    first = START - pd.Timedelta("1D")
    dates = pd.date_range(first, periods=24 * (n_days + 2), freq="1h", tz="UTC")
    predictions, labels = [], []
    for pair in pairs:
        p = rng.uniform(0.05, 0.6, len(dates))
        y = (rng.uniform(size=len(dates)) < p).astype(float)
        outcome = np.where(y == 1, 1.0, -1.0)
        outcome[-5:] = np.nan  # end of data
        predictions.append(pd.DataFrame({"pair": pair, "date": dates, "p_tp": p, "trained": 1}))
        labels.append(pd.DataFrame({"pair": pair, "date": dates, "outcome": outcome}))
    return pd.concat(predictions, ignore_index=True), pd.concat(labels, ignore_index=True)


def test_score_equals_the_direct_computation() -> None:
    predictions, labels = synthetic()
    predictions.loc[3, "p_tp"] = np.nan  # a window without a model
    c = oos.score(predictions, labels, START.to_pydatetime(), END.to_pydatetime())

    merged = predictions.merge(labels, on=["pair", "date"])
    inside = merged[(merged["date"] >= START) & (merged["date"] < END)]
    scored = inside.dropna(subset=["p_tp", "outcome"])
    y = (scored["outcome"] == 1).astype(int).to_numpy()
    p = scored["p_tp"].to_numpy()
    assert c.n == len(scored) == 2 * 240
    assert c.auc == pytest.approx(roc_auc_score(y, p))
    assert c.ece == pytest.approx(expected_calibration_error(y, p))
    pd.testing.assert_frame_equal(c.table, calibration_table(y, p))
    assert c.base_rate == pytest.approx(y.mean())
    assert c.mean_predicted == pytest.approx(p.mean())
    assert c.auc_ci[0] <= c.auc <= c.auc_ci[1]
    assert c.ece_ci[0] <= c.ece <= c.ece_ci[1]
    assert list(c.per_pair["pair"]) == ["BTC/USDT", "ETH/USDT"]
    assert c.per_pair["n"].sum() == c.n


def test_score_counts_what_it_leaves_out() -> None:
    predictions, labels = synthetic()
    late = pd.Timestamp(labels["date"].max()).to_pydatetime()
    c = oos.score(predictions, labels, START.to_pydatetime(), late)
    assert c.n_without_label == 2 * 4  # the last 5 labels are NaN, one is at the end bound
    predictions["p_tp"] = np.nan
    with pytest.raises(ValueError, match="no prediction"):
        oos.score(predictions, labels, START.to_pydatetime(), END.to_pydatetime())


def test_trade_calibration_joins_the_signal_candle() -> None:
    dates = pd.date_range(START, periods=4, freq="1h", tz="UTC")
    predictions = pd.DataFrame({"pair": "BTC/USDT", "date": dates, "p_tp": [0.5, 0.6, 0.7, 0.8]})
    trades = pd.DataFrame(
        {"pair": ["BTC/USDT", "BTC/USDT", "ETH/USDT"],
         "open_date": [dates[1], dates[3], dates[2]],
         "exit_reason": ["roi", "stop_loss", "roi"]}
    )  # fmt: skip
    t = oos.trade_calibration(trades, predictions, pd.Timedelta("1h"))
    assert t.n == 2  # the ETH trade has no prediction
    assert t.mean_predicted == pytest.approx((0.5 + 0.7) / 2)
    assert t.take_profit_rate == 0.5
    empty = oos.trade_calibration(trades.iloc[:0], predictions, pd.Timedelta("1h"))
    assert empty.n == 0 and math.isnan(empty.take_profit_rate)


def test_wilson_interval_known_values() -> None:
    lo, hi = oos.wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert oos.wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)


def test_null_forecast_uses_each_windows_training_rate() -> None:
    dates = pd.date_range("2025-01-01", periods=24 * 6, freq="1h", tz="UTC")
    # Take-profit on days 1-2 (rate 1.0), never on days 3-4; windows trained at day 3 and day 5.
    outcome = np.where(dates < pd.Timestamp("2025-01-03", tz="UTC"), 1.0, -1.0)
    labels = pd.DataFrame({"pair": "BTC/USDT", "date": dates, "outcome": outcome})
    day3 = int(pd.Timestamp("2025-01-03", tz="UTC").timestamp())
    day5 = int(pd.Timestamp("2025-01-05", tz="UTC").timestamp())
    test_dates = dates[dates >= pd.Timestamp("2025-01-03", tz="UTC")]
    scored = pd.DataFrame(
        {"pair": "BTC/USDT", "date": test_dates,
         "trained": np.where(test_dates < pd.Timestamp("2025-01-05", tz="UTC"), day3, day5),
         "p_tp": 0.5, "y": 0}
    )  # fmt: skip
    # Window 1 trained on days 1-2 (rate 1.0) and sees y = 0: gap 1. Window 2 trained on days
    # 3-4 minus the last 2 h of unfinished labels (rate 0.0) and sees y = 0: gap 0.
    ece = oos.null_forecast_ece(scored, labels, 2, 2, pd.Timedelta("1h"))
    assert ece == pytest.approx(0.5)


def test_edge_gate_openings_count_each_trainings_decision(tmp_path: Path) -> None:
    import json

    assert edge_gate_openings(tmp_path) is None  # no training at all
    for i, gate in enumerate([{"passed": True}, {"passed": False}, {"passed": False}, None]):
        folder = tmp_path / f"sub-train-BTC_{i}"
        folder.mkdir()
        metrics = {"best_iteration": 3} | ({"edge_gate": gate} if gate else {})
        (folder / "tribar_metrics.json").write_text(json.dumps(metrics))
    assert edge_gate_openings(tmp_path) == (1, 3)  # the ungated training is not counted


def test_a_pooled_windows_decision_counts_once_for_all_the_pairs_it_serves(
    tmp_path: Path,
) -> None:
    import json

    windows = [("2025-01-01", "2025-04-01", True), ("2025-01-15", "2025-04-15", False)]
    for start, stop, passed in windows:
        for pair in ("BTC", "ETH", "SOL"):
            folder = tmp_path / f"sub-train-{pair}_{stop}"
            folder.mkdir()
            metrics = {"edge_gate": {"passed": passed},
                       "pooled": {"window_start": start, "window_stop": stop}}  # fmt: skip
            (folder / "tribar_metrics.json").write_text(json.dumps(metrics))
    assert edge_gate_openings(tmp_path) == (1, 2)
