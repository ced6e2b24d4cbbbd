"""Performance statistics for the evaluation report, on plain return / equity series.

Conventions:

* ``daily_returns`` are simple (not log) returns per period; NaNs are dropped. Crypto trades
  every day, so annualisation uses 365 periods per year by default.
* Sharpe and Sortino use a zero risk-free rate. The annualised ``sharpe_ratio`` (and its
  bootstrap interval) uses the population standard deviation (ddof=0), as Freqtrade's
  ``freqtrade.data.metrics.calculate_sharpe_from_balance`` does, so ``tribar evaluate`` and
  ``tribar report`` (which calls Freqtrade's function) give the same figure for the same daily
  returns. The per-period Sharpe inside PSR/DSR keeps the sample deviation (ddof=1) of Bailey &
  López de Prado.
* A series with zero variance (all returns equal) has an infinite Sharpe of the sign of its mean,
  or NaN when the mean is zero too; fewer than two returns give NaN.
* Profit factor (``profit_factor`` / ``profit_factor_of_sums``, the only implementation: the
  ledger summary and paper acceptance call it too): inf with no losing trade, NaN when there is
  neither profit nor loss. Result types that hold ``float | None`` store that NaN as None.
* ``probabilistic_sharpe_ratio`` and ``deflated_sharpe_ratio`` work with the *per-period*
  (non-annualised) Sharpe ratio, as in Bailey & López de Prado (2012, 2014).

References: Sharpe (1994) "The Sharpe ratio"; Sortino & Price (1994) "Performance measurement in
a downside risk framework"; Politis & Romano (1994) "The stationary bootstrap"; Bailey & López de
Prado (2012) "The Sharpe ratio efficient frontier"; Bailey & López de Prado (2014) "The deflated
Sharpe ratio".
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
ReturnsLike: TypeAlias = pd.Series | npt.ArrayLike

EULER_MASCHERONI: Final = 0.5772156649015329
DAYS_PER_YEAR: Final = 365.25  # calendar years for CAGR over a DatetimeIndex


def _returns(daily_returns: ReturnsLike) -> FloatArray:
    values = np.asarray(daily_returns, dtype=np.float64).ravel()
    return values[~np.isnan(values)]


def _ratio_of_zero_spread(mean: float) -> float:
    # Every return identical: no risk at all, so the ratio is unbounded in the mean's direction.
    return math.nan if mean == 0.0 else math.copysign(math.inf, mean)


def _per_period_sharpe(r: FloatArray, ddof: int = 1) -> float:
    if r.size < 2:
        return math.nan
    mean = float(r.mean())
    # Equality test rather than std == 0: the float std of identical values can be 1e-19.
    if np.all(r == r[0]):
        return _ratio_of_zero_spread(mean)
    return mean / float(r.std(ddof=ddof))


def sharpe_ratio(daily_returns: ReturnsLike, periods_per_year: float = 365) -> float:
    """Annualised Sharpe ratio ``mean / std * sqrt(periods_per_year)`` (risk-free rate 0,
    population std as Freqtrade's ``calculate_sharpe_from_balance``)."""
    return _per_period_sharpe(_returns(daily_returns), ddof=0) * math.sqrt(periods_per_year)


def sortino_ratio(
    daily_returns: ReturnsLike, periods_per_year: float = 365, target: float = 0.0
) -> float:
    """Annualised Sortino ratio ``mean(r - target) / DD * sqrt(periods_per_year)``.

    DD is the target downside deviation ``sqrt(mean(min(r - target, 0)^2))`` over *all*
    periods (Sortino & Price), not the standard deviation of the losing periods only.
    """
    r = _returns(daily_returns)
    if r.size < 2:
        return math.nan
    excess = r - target
    mean = float(excess.mean())
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside == 0.0:
        return _ratio_of_zero_spread(mean)
    return mean / downside * math.sqrt(periods_per_year)


def _equity(equity: pd.Series | npt.ArrayLike) -> pd.Series:
    series = equity if isinstance(equity, pd.Series) else pd.Series(np.asarray(equity))
    series = series.astype(np.float64).dropna()
    if series.empty:
        raise ValueError("equity is empty")
    if not np.all(np.isfinite(series.to_numpy())) or (series < 0).any():
        raise ValueError("equity must be finite and >= 0")
    if series.iloc[0] <= 0:
        raise ValueError("equity must start > 0")
    return series


def max_drawdown(
    equity: pd.Series | npt.ArrayLike,
) -> tuple[float, Hashable | None, Hashable | None]:
    """Largest peak-to-trough loss as a fraction of the peak, with the peak's and trough's labels.

    Returns ``(max_dd, peak_time, trough_time)`` with ``max_dd`` in ``[0, 1]`` (0.25 = -25 %);
    ``(0.0, None, None)`` if equity never falls below a previous peak. Labels are the series'
    index values (timestamps for a DatetimeIndex, positions for an array).
    """
    series = _equity(equity)
    values = series.to_numpy()
    peaks = np.maximum.accumulate(values)
    drawdown = 1.0 - values / peaks
    trough = int(np.argmax(drawdown))
    max_dd = float(drawdown[trough])
    if max_dd <= 0.0:
        return 0.0, None, None
    # The peak is the last time equity stood at the running maximum before the trough.
    peak = int(np.flatnonzero(values[: trough + 1] == peaks[trough])[-1])
    return max_dd, series.index[peak], series.index[trough]


def _years(series: pd.Series, periods_per_year: float) -> float:
    if isinstance(series.index, pd.DatetimeIndex):
        span = series.index[-1] - series.index[0]
        return span / pd.Timedelta(days=DAYS_PER_YEAR)
    return (len(series) - 1) / periods_per_year


def cagr(equity: pd.Series | npt.ArrayLike, periods_per_year: float = 365) -> float:
    """Compound annual growth rate ``(end / start) ** (1 / years) - 1``.

    Years come from the index span (365.25-day years) for a DatetimeIndex, else from
    ``(len - 1) / periods_per_year`` (equity sampled once per period). NaN for a zero span.
    """
    series = _equity(equity)
    years = _years(series, periods_per_year)
    if years <= 0:
        return math.nan
    growth = float(series.iloc[-1] / series.iloc[0])
    return growth ** (1.0 / years) - 1.0


def calmar_ratio(equity: pd.Series | npt.ArrayLike, periods_per_year: float = 365) -> float:
    """CAGR divided by the maximum drawdown fraction (inf without a drawdown and positive CAGR)."""
    growth = cagr(equity, periods_per_year)
    max_dd, _, _ = max_drawdown(equity)
    if max_dd == 0.0:
        return _ratio_of_zero_spread(growth) if not math.isnan(growth) else math.nan
    return growth / max_dd


def profit_factor_of_sums(gross_profit: float, gross_loss: float) -> float:
    """The one profit-factor convention of tribar: ``gross_profit / gross_loss`` (``gross_loss``
    as a positive amount); inf with profit but no loss, NaN with neither (undefined)."""
    if gross_loss < 0 or gross_profit < 0:
        raise ValueError(
            f"profit_factor_of_sums: gross_profit ({gross_profit}) and gross_loss ({gross_loss}) "
            "must be >= 0"
        )
    if gross_loss > 0:
        return gross_profit / gross_loss
    return math.inf if gross_profit > 0 else math.nan


def profit_factor(trade_pnls: ReturnsLike) -> float:
    """Gross profit over gross loss. inf without losing trades, NaN without any trades."""
    pnl = _returns(trade_pnls)
    if pnl.size == 0:
        return math.nan
    gains = float(pnl[pnl > 0].sum())
    losses = float(-pnl[pnl < 0].sum())
    return profit_factor_of_sums(gains, losses)


def exposure(
    open_times: pd.Series | pd.DatetimeIndex | npt.ArrayLike,
    close_times: pd.Series | pd.DatetimeIndex | npt.ArrayLike,
    period_start: pd.Timestamp | str,
    period_end: pd.Timestamp | str,
) -> float:
    """Fraction of ``[period_start, period_end]`` with at least one open position.

    Overlapping trades count once (union of intervals). A missing close time (NaT) means the
    trade is still open at ``period_end``; intervals are clipped to the period.
    """
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    if end <= start:
        raise ValueError(f"period_end ({end}) must be after period_start ({start})")
    opens = pd.DatetimeIndex(pd.to_datetime(open_times))
    closes = pd.DatetimeIndex(pd.to_datetime(close_times))
    if opens.tz is not None:
        # Naive period bounds next to UTC trade times (Freqtrade's) are taken as UTC.
        start = start.tz_localize(opens.tz) if start.tzinfo is None else start
        end = end.tz_localize(opens.tz) if end.tzinfo is None else end
    if len(opens) != len(closes):
        raise ValueError(f"{len(opens)} open times but {len(closes)} close times")
    if len(opens) == 0:
        return 0.0
    if opens.hasnans:
        raise ValueError("open_times contains NaT")
    closes = closes.fillna(end)
    if bool((closes < opens).any()):
        raise ValueError("a trade closes before it opens")
    # Work in integer nanoseconds relative to start: exact and free of timezone arithmetic.
    length = (end - start).as_unit("ns").value
    o = np.clip((opens - start).as_unit("ns").asi8, 0, length)
    c = np.clip((closes - start).as_unit("ns").asi8, 0, length)
    order = np.argsort(o, kind="stable")
    o, c = o[order], c[order]
    reach = np.maximum.accumulate(c)  # furthest close among trades opened so far
    # A new busy stretch begins where a trade opens after every earlier trade has closed.
    starts_new = np.concatenate(([True], o[1:] > reach[:-1]))
    first = np.flatnonzero(starts_new)
    last = np.concatenate((first[1:] - 1, [len(o) - 1]))
    busy = int(np.sum(reach[last] - o[first]))
    return busy / length


def _stationary_bootstrap_indices(
    n: int, n_samples: int, mean_block: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Politis-Romano indices: geometric block lengths (mean ``mean_block``), wrapping around."""
    new_block = rng.random((n_samples, n)) < 1.0 / mean_block
    new_block[:, 0] = True
    positions = np.arange(n)
    block_start = np.maximum.accumulate(np.where(new_block, positions, 0), axis=1)
    origins = rng.integers(0, n, size=(n_samples, n))
    origin_of_block = np.take_along_axis(origins, block_start, axis=1)
    return (origin_of_block + positions - block_start) % n


def block_bootstrap_sharpe_ci(
    daily_returns: ReturnsLike,
    block: float = 10,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    periods_per_year: float = 365,
) -> tuple[float, float]:
    """Percentile confidence interval of the annualised Sharpe ratio by *stationary* bootstrap.

    Resamples keep serial correlation up to about ``block`` periods: blocks start at random
    positions, have geometric lengths with mean ``block`` and wrap around the end of the series
    (Politis & Romano, 1994). Deterministic for a given ``seed``. Resamples whose returns are all
    equal (undefined Sharpe) are ignored.
    """
    r = _returns(daily_returns)
    if r.size < 2:
        return math.nan, math.nan
    if not (block >= 1):
        raise ValueError(f"block must be >= 1, got {block!r}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    rng = np.random.default_rng(seed)
    sharpes = np.empty(n_boot)
    # Chunks bound the memory of the index matrix (chunk x n) for long series.
    chunk = max(1, 2_000_000 // r.size)
    for lo in range(0, n_boot, chunk):
        hi = min(n_boot, lo + chunk)
        sample = r[_stationary_bootstrap_indices(r.size, hi - lo, block, rng)]
        std = sample.std(axis=1, ddof=0)  # as sharpe_ratio
        constant = np.all(sample == sample[:, :1], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sharpes[lo:hi] = np.where(constant, np.nan, sample.mean(axis=1) / std)
    sharpes *= math.sqrt(periods_per_year)
    if np.all(np.isnan(sharpes)):
        return math.nan, math.nan
    lo_q, hi_q = np.nanquantile(sharpes, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo_q), float(hi_q)


def probabilistic_sharpe_ratio(daily_returns: ReturnsLike, sr_benchmark: float = 0.0) -> float:
    """Probability that the true per-period Sharpe exceeds ``sr_benchmark`` (Bailey & LdP 2012).

    ``PSR = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))`` with SR the
    non-annualised sample Sharpe, g3 the skewness and g4 the (non-excess) kurtosis of the
    returns. ``sr_benchmark`` is per period too (divide an annual figure by sqrt(365)).
    """
    r = _returns(daily_returns)
    sr = _per_period_sharpe(r)
    if not math.isfinite(sr):
        return math.nan
    n = r.size
    # Plain (biased) sample moments, as in the authors' reference code.
    skew = float(stats.skew(r))
    kurt = float(stats.kurtosis(r, fisher=False))
    variance_term = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if variance_term <= 0.0:
        # Only reachable with extreme sample moments; the normal approximation breaks down.
        return math.nan
    z = (sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(variance_term)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: int, sr_variance_across_trials: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` skill-less strategies (Bailey & LdP 2014).

    ``E[max SR] = sqrt(V) * ((1 - g) * Phi^-1(1 - 1/N) + g * Phi^-1(1 - 1/(N e)))`` with ``g``
    the Euler-Mascheroni constant and ``V`` the variance of the trials' Sharpe ratios; 0 for one
    trial (the max of one draw has the null mean).
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
    if not (sr_variance_across_trials >= 0.0):
        raise ValueError(f"sr_variance_across_trials must be >= 0, got {sr_variance_across_trials}")
    if n_trials == 1:
        return 0.0
    g = EULER_MASCHERONI
    z = (1.0 - g) * stats.norm.ppf(1.0 - 1.0 / n_trials) + g * stats.norm.ppf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return math.sqrt(sr_variance_across_trials) * float(z)


def deflated_sharpe_ratio(
    daily_returns: ReturnsLike, n_trials: int, sr_variance_across_trials: float
) -> float:
    """PSR against the Sharpe the best of ``n_trials`` random strategies would reach by luck.

    ``DSR = PSR(SR0)`` with ``SR0 = expected_max_sharpe(n_trials, V)``. ``V`` is the variance
    of the *per-period* Sharpe ratios of all trials tried (e.g. all hyperopt epochs).
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance_across_trials)
    return probabilistic_sharpe_ratio(daily_returns, sr_benchmark=sr0)
