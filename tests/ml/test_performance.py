"""Performance statistics: closed-form cases and the properties the report relies on."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from tribar.analysis.analytics.performance import (
    block_bootstrap_sharpe_ci,
    cagr,
    calmar_ratio,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    exposure,
    max_drawdown,
    probabilistic_sharpe_ratio,
    profit_factor,
    sharpe_ratio,
    sortino_ratio,
)

ROOT_365 = math.sqrt(365)


def test_sharpe_closed_form() -> None:
    # +2 %, 0 %, repeated: mean 1 %, population std 1 % (ddof=0, as Freqtrade's Sharpe).
    n = 50
    r = np.tile([0.02, 0.0], n)
    expected = 1.0 * ROOT_365
    assert sharpe_ratio(r) == pytest.approx(expected)
    assert sharpe_ratio(r, periods_per_year=252) == pytest.approx(
        expected / ROOT_365 * math.sqrt(252)
    )


def test_sharpe_of_constant_and_degenerate_series() -> None:
    assert sharpe_ratio(np.full(100, 0.001)) == math.inf
    assert sharpe_ratio(np.full(100, -0.001)) == -math.inf
    assert math.isnan(sharpe_ratio(np.zeros(100)))
    assert math.isnan(sharpe_ratio([0.01]))
    # A NaN return is a clear error, not silently dropped (a missing day changes the figure).
    with pytest.raises(
        ValueError, match=r"daily returns: 1 NaN/infinite value\(s\) at position\(s\) 1"
    ):
        sharpe_ratio([0.02, np.nan, 0.0])


def test_sortino_closed_form() -> None:
    # Freqtrade's: mean of all returns over the population std of the losing ones.
    r = pd.Series(np.tile([0.02, -0.01, 0.01, -0.03], 50))
    assert sortino_ratio(r) == pytest.approx(-0.0025 / 0.01 * ROOT_365)
    assert sortino_ratio(np.full(10, 0.01)) == math.inf  # no losing day: no downside
    assert sortino_ratio(np.tile([0.02, -0.01], 5)) == math.inf  # losing days all equal


def test_max_drawdown_hand_computed() -> None:
    index = pd.date_range("2025-01-01", periods=7, freq="D", tz="UTC")
    equity = pd.Series([100, 120, 90, 110, 130, 104, 140], index=index, dtype=float)
    dd, peak, trough = max_drawdown(equity)
    assert dd == pytest.approx(0.25)
    assert (peak, trough) == (index[1], index[2])


def test_max_drawdown_peak_is_latest_high_before_trough() -> None:
    assert max_drawdown([100, 120, 120, 60, 80]) == (0.5, 2, 3)
    assert max_drawdown([100, 100, 110, 120]) == (0.0, None, None)
    assert max_drawdown([100, 0.0]) == (1.0, 0, 1)
    with pytest.raises(ValueError):
        max_drawdown([100, -5])


def test_cagr_and_calmar() -> None:
    assert cagr(np.linspace(100, 121, 366)) == pytest.approx(0.21)  # 365 periods = 1 year
    # Freqtrade's calculate_cagr: whole days (731 of 731.5), 365-day years.
    index = pd.DatetimeIndex(["2023-01-01", "2025-01-01 12:00"], tz="UTC")
    assert cagr(pd.Series([100.0, 144.0], index=index)) == pytest.approx(1.44 ** (365 / 731) - 1)
    assert math.isnan(cagr(pd.Series([100.0, 144.0], index=index[:1].repeat(2))))
    # Freqtrade's Calmar: total return / days * 100 over the max drawdown, times sqrt(365).
    dates = pd.DatetimeIndex(["2024-01-01", "2024-07-01", "2025-01-01"])
    equity = pd.Series([100.0, 80.0, 121.0], index=dates)
    assert calmar_ratio(equity) == pytest.approx(0.21 / 366 * 100 / 0.2 * ROOT_365)
    assert calmar_ratio([100.0, 110.0]) == math.inf


def test_profit_factor() -> None:
    assert profit_factor([10, -5, 20, -10]) == pytest.approx(2.0)
    assert profit_factor([1.0, 2.0]) == math.inf
    assert math.isnan(profit_factor([]))
    assert profit_factor([-1.0]) == 0.0


def test_exposure_union_of_overlapping_trades() -> None:
    day = pd.Timedelta(days=1)
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    opens = [t0, t0 + day, t0 + 5 * day]
    closes = [t0 + 2 * day, t0 + 3 * day, t0 + 6 * day]
    assert exposure(opens, closes, t0, t0 + 10 * day) == pytest.approx(0.4)
    # Clipped to the period; a trade without a close is open until the period ends.
    opens2 = [t0 - 5 * day, t0 + 8 * day]
    closes2 = [t0 + day, pd.NaT]
    assert exposure(opens2, closes2, t0, t0 + 10 * day) == pytest.approx(0.3)
    assert exposure([], [], t0, t0 + day) == 0.0
    # Trades nested inside a long one add nothing, even after an earlier nested one closed.
    nested_opens = [t0, t0 + day, t0 + 3 * day]
    nested_closes = [t0 + 10 * day, t0 + 2 * day, t0 + 4 * day]
    assert exposure(nested_opens, nested_closes, t0, t0 + 20 * day) == pytest.approx(0.5)
    # Naive bounds next to UTC trade times are read as UTC.
    assert exposure(opens, closes, "2025-01-01", "2025-01-11") == pytest.approx(0.4)
    with pytest.raises(ValueError, match="closes before"):
        exposure([t0 + day], [t0], t0, t0 + 10 * day)


def test_bootstrap_ci_contains_estimate_and_has_the_asymptotic_width() -> None:
    rng = np.random.default_rng(7)
    r = rng.normal(0.001, 0.01, size=3000)
    point = sharpe_ratio(r)
    lo, hi = block_bootstrap_sharpe_ci(r, block=10, n_boot=1000, seed=1)
    assert lo < point < hi
    # iid normal: se(SR per period) = sqrt((1 + SR^2 / 2) / n) (Lo, 2002).
    sr = point / ROOT_365
    width = 2 * 1.96 * math.sqrt((1 + sr**2 / 2) / len(r)) * ROOT_365
    assert (hi - lo) == pytest.approx(width, rel=0.25)


def test_bootstrap_is_deterministic_per_seed() -> None:
    r = np.random.default_rng(8).normal(0.0, 0.01, size=400)
    a = block_bootstrap_sharpe_ci(r, n_boot=300, seed=3)
    assert a == block_bootstrap_sharpe_ci(r, n_boot=300, seed=3)
    assert a != block_bootstrap_sharpe_ci(r, n_boot=300, seed=4)


def test_bootstrap_wider_for_autocorrelated_returns_with_blocks() -> None:
    """With strong positive autocorrelation, blocks must widen the interval vs block = 1."""
    rng = np.random.default_rng(9)
    shocks = rng.normal(0, 0.01, size=2000)
    r = np.convolve(shocks, np.ones(20) / 20, mode="valid") + 0.0005
    lo1, hi1 = block_bootstrap_sharpe_ci(r, block=1, n_boot=500, seed=0)
    lo20, hi20 = block_bootstrap_sharpe_ci(r, block=40, n_boot=500, seed=0)
    assert (hi20 - lo20) > 2 * (hi1 - lo1)


def test_psr_is_one_half_at_the_benchmark() -> None:
    r = np.random.default_rng(10).standard_t(5, size=500) * 0.01 + 0.002
    sr = float(r.mean() / r.std(ddof=1))  # PSR's per-period Sharpe: sample std
    assert probabilistic_sharpe_ratio(r, sr_benchmark=sr) == pytest.approx(0.5)
    assert probabilistic_sharpe_ratio(r, sr_benchmark=sr - 0.05) > 0.5
    assert probabilistic_sharpe_ratio(r, sr_benchmark=sr + 0.05) < 0.5


def test_psr_penalises_negative_skew_at_equal_sharpe() -> None:
    x = np.random.default_rng(11).lognormal(0, 0.8, size=1000)
    x = (x - x.mean()) / x.std() * 0.01 + 0.002  # positive skew, SR = 0.2
    mirrored = 2 * x.mean() - x  # same mean and std, skew negated
    assert sharpe_ratio(x) == pytest.approx(sharpe_ratio(mirrored))
    assert stats.skew(x) > 1 and stats.skew(mirrored) < -1
    assert probabilistic_sharpe_ratio(mirrored) < probabilistic_sharpe_ratio(x)


def test_psr_closed_form_for_normal_like_moments() -> None:
    # Symmetric two-point returns: skew 0, kurtosis 1, so the variance term is 1 (no SR^2 part).
    r = np.tile([0.03, -0.01], 5)
    sr = 0.01 / np.std(r, ddof=1)
    expected = stats.norm.cdf(sr * math.sqrt(len(r) - 1))
    assert probabilistic_sharpe_ratio(r) == pytest.approx(expected)


def _expected_max_of_normals(n: int) -> float:
    density = lambda x: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1)  # noqa: E731
    return float(integrate.quad(density, -10, 10)[0])


@pytest.mark.parametrize("n_trials", [10, 100, 1000])
def test_expected_max_sharpe_matches_order_statistics(n_trials: int) -> None:
    # The closed form approximates E[max of N standard normals] (scaled by sqrt(V)).
    exact = _expected_max_of_normals(n_trials)
    assert expected_max_sharpe(n_trials, 0.04) == pytest.approx(0.2 * exact, rel=0.03)


def test_dsr_decreases_with_trials_and_reduces_to_psr() -> None:
    r = np.random.default_rng(12).normal(0.002, 0.01, size=730)
    dsr = [
        deflated_sharpe_ratio(r, n, sr_variance_across_trials=0.002) for n in (1, 2, 10, 100, 1000)
    ]
    assert all(a > b for a, b in itertools.pairwise(dsr))
    assert dsr[0] == pytest.approx(probabilistic_sharpe_ratio(r))
    assert deflated_sharpe_ratio(r, 50, 0.0) == pytest.approx(probabilistic_sharpe_ratio(r))
    with pytest.raises(ValueError, match="n_trials"):
        deflated_sharpe_ratio(r, 0, 0.01)
