"""ECE, reliability table and the probability calibrator on synthetic data with known truth."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tribar.calibration import (
    ProbabilityCalibrator,
    calibration_table,
    expected_calibration_error,
)


def calibrated_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True probabilities and outcomes drawn from exactly those probabilities."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, size=n)
    y = (rng.random(n) < p).astype(float)
    return p, y


def overconfident(p: np.ndarray) -> np.ndarray:
    """A typical boosted-tree distortion: predictions pushed away from the middle."""
    logit = np.log(p / (1 - p))
    return 1 / (1 + np.exp(-3.0 * logit + 0.5))


@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_ece_small_for_calibrated_large_for_miscalibrated(strategy: str) -> None:
    p, y = calibrated_sample(20_000, seed=1)
    assert expected_calibration_error(y, p, strategy=strategy) < 0.015
    assert expected_calibration_error(y, overconfident(p), strategy=strategy) > 0.08


def test_ece_exact_on_hand_built_bins() -> None:
    # Two bins of 4: predicted 0.2 vs realised 0.25, predicted 0.8 vs realised 0.5.
    p = np.array([0.2] * 4 + [0.8] * 4)
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0], dtype=float)
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx((0.05 + 0.3) / 2)
    assert expected_calibration_error(y, p, n_bins=10, strategy="uniform") == pytest.approx(0.175)


def test_table_columns_and_deciles() -> None:
    p, y = calibrated_sample(1000, seed=2)
    table = calibration_table(y, p)
    assert list(table.columns) == [
        "bin",
        "p_low",
        "p_high",
        "count",
        "mean_predicted",
        "realised_rate",
        "abs_gap",
    ]
    assert len(table) == 10
    assert table["count"].tolist() == [100] * 10  # deciles of the predictions
    assert table["mean_predicted"].is_monotonic_increasing
    assert (
        (table["mean_predicted"] >= table["p_low"]) & (table["mean_predicted"] <= table["p_high"])
    ).all()
    ece = float((table["count"] * table["abs_gap"]).sum() / table["count"].sum())
    assert ece == pytest.approx(expected_calibration_error(y, p))


def test_tied_predictions_stay_in_one_bin() -> None:
    p = np.full(50, 0.3)
    y = np.r_[np.ones(20), np.zeros(30)]
    table = calibration_table(y, p)
    assert len(table) == 1
    assert expected_calibration_error(y, p) == pytest.approx(0.1)


def test_uniform_bins_include_both_ends() -> None:
    table = calibration_table([0, 1, 1], [0.0, 1.0, 0.95], strategy="uniform")
    assert table["bin"].tolist() == [0, 9]
    assert table["count"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1], [0.5, np.nan], "NaN"),
        ([0, 1], [0.5, 1.2], r"\[0, 1\]"),
        ([0, 2], [0.5, 0.5], "only 0 and 1"),
        ([0, 1, 1], [0.5, 0.5], "3 values"),
        ([], [], "at least one"),
    ],
)
def test_invalid_inputs(y: list[float], p: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(y, p)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_reduces_held_out_ece(method: str) -> None:
    p_true, y = calibrated_sample(10_000, seed=3)
    raw = overconfident(p_true)
    fit, test = slice(0, 5000), slice(5000, None)
    calibrator = ProbabilityCalibrator(method=method).fit(raw[fit], y[fit])
    before = expected_calibration_error(y[test], raw[test])
    after = expected_calibration_error(y[test], calibrator.predict(raw[test]))
    assert not calibrator.fallback_
    assert after < before / 3
    assert after < 0.03


def test_isotonic_output_is_monotone_and_clipped() -> None:
    p_true, y = calibrated_sample(3000, seed=4)
    calibrator = ProbabilityCalibrator("isotonic", eps=1e-3).fit(overconfident(p_true), y)
    grid = np.linspace(0, 1, 1001)
    out = calibrator.predict(grid)
    assert np.all(np.diff(out) >= 0)
    assert out.min() >= 1e-3 and out.max() <= 1 - 1e-3


def test_isotonic_stays_non_decreasing_on_anti_correlated_calibration_data() -> None:
    p_true, y = calibrated_sample(3000, seed=4)
    calibrator = ProbabilityCalibrator("isotonic").fit(1 - p_true, y)
    assert np.all(np.diff(calibrator.predict(np.linspace(0, 1, 101))) >= 0)


def test_sigmoid_is_close_to_identity_on_calibrated_input() -> None:
    p, y = calibrated_sample(20_000, seed=5)
    calibrator = ProbabilityCalibrator("sigmoid").fit(p, y)
    grid = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(calibrator.predict(grid), grid, atol=0.03)


@pytest.mark.parametrize(
    ("p", "y"),
    [
        (np.linspace(0.1, 0.9, 200), np.ones(200)),  # one class only
        (np.linspace(0.1, 0.9, 10), np.r_[np.ones(3), np.zeros(7)]),  # fewer than min_samples
    ],
)
def test_fallback_predicts_base_rate(p: np.ndarray, y: np.ndarray) -> None:
    calibrator = ProbabilityCalibrator("isotonic", min_samples=50, eps=1e-4).fit(p, y)
    assert calibrator.fallback_
    expected = np.clip(y.mean(), 1e-4, 1 - 1e-4)
    np.testing.assert_array_equal(calibrator.predict([0.01, 0.5, 0.99]), expected)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_pickle_round_trip_and_clone(method: str) -> None:
    p_true, y = calibrated_sample(2000, seed=6)
    calibrator = ProbabilityCalibrator(method).fit(overconfident(p_true), y)
    restored = pickle.loads(pickle.dumps(calibrator))
    grid = np.linspace(0, 1, 101)
    np.testing.assert_array_equal(restored.predict(grid), calibrator.predict(grid))
    assert clone(calibrator).get_params() == calibrator.get_params()


def test_misuse_is_reported() -> None:
    with pytest.raises(NotFittedError):
        ProbabilityCalibrator().predict([0.5])
    with pytest.raises(ValueError, match="method"):
        ProbabilityCalibrator("beta").fit([0.2, 0.8], [0, 1])
    with pytest.raises(ValueError, match="zero rows"):
        ProbabilityCalibrator().fit([], [])
