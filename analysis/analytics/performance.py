"""tribar's one module of performance metrics: every Sharpe, Sortino, Calmar, CAGR, maximum
drawdown and profit factor that ``tribar report`` (the ledger summary), ``tribar evaluate`` and
the paper acceptance show comes from here. The table of definitions is in docs/analytics.md.

Conventions are those of ``freqtrade.data.metrics`` (so tribar's figures and Freqtrade's agree;
tests/analytics/test_one_metrics.py proves it figure for figure):

* Sharpe = ``calculate_sharpe_from_balance``: mean / population std (ddof=0) of daily simple
  returns, times ``sqrt(365)``, risk-free rate 0.
* Sortino = ``calculate_sortino_from_balance``: mean of *all* daily returns / population std of
  the *negative* daily returns, times ``sqrt(365)``.
* Calmar = ``calculate_calmar_from_balance``: ``total return / days * 100`` over the relative
  drawdown at the trough of the largest *money* drawdown, times ``sqrt(365)`` (Freqtrade's own
  scale, not the textbook CAGR / MDD).
* CAGR = ``calculate_cagr``: ``(end / start) ** (365 / days) - 1`` with whole days.
* Maximum drawdown = ``calculate_max_drawdown``: the starting balance is the first peak; the
  relative figure is the deepest fall as a share of the peak balance.
* Profit factor: gross profit / gross loss (``profit_factor_of_sums``).

Where Freqtrade answers a placeholder (-100 or 0, hyperopt signals), tribar answers what the
arithmetic says: a zero denominator gives ±inf by the sign of the numerator and NaN when the
numerator is 0 too; too little data (fewer than two daily returns, no trade) gives NaN. Result
types that hold ``float | None`` store NaN as None (:func:`undefined_as_none`). NaN or infinite
input is rejected with a ValueError naming the input, never silently dropped.

Freqtrade has no PSR, DSR or bootstrap interval: those follow Bailey & López de Prado and keep
the sample deviation (ddof=1) of a *per-period* (non-annualised) Sharpe ratio.

References: Sharpe (1994) "The Sharpe ratio"; Politis & Romano (1994) "The stationary
bootstrap"; Bailey & López de Prado (2012) "The Sharpe ratio efficient frontier"; Bailey &
López de Prado (2014) "The deflated Sharpe ratio".
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
ReturnsLike: TypeAlias = pd.Series | npt.ArrayLike

EULER_MASCHERONI: Final = 0.5772156649015329
DAYS_PER_YEAR: Final = 365  # Freqtrade's annualisation: crypto trades every calendar day


def _finite(values: ReturnsLike, what: str) -> FloatArray:
    """``values`` as a float array, or a ValueError naming the first non-finite rows."""
    try:
        array = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: expected numbers, got {values!r:.80}") from exc
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        shown = ", ".join(str(int(i)) for i in bad[:5])
        raise ValueError(
            f"{what}: {bad.size} NaN/infinite value(s) at position(s) {shown}"
            f"{' …' if bad.size > 5 else ''}; expected finite numbers (drop or fill missing "
            "rows before computing metrics)"
        )
    return array


def _returns(daily_returns: ReturnsLike) -> FloatArray:
    return _finite(daily_returns, "daily returns")


def undefined_as_none(value: float) -> float | None:
    """NaN (undefined) as None, for result types that hold ``float | None``; inf stays."""
    return None if math.isnan(value) else float(value)


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


def sortino_ratio(daily_returns: ReturnsLike, periods_per_year: float = 365) -> float:
    """Annualised Sortino ratio as Freqtrade's ``calculate_sortino_from_balance``:
    ``mean(r) / std(r[r < 0], ddof=0) * sqrt(periods_per_year)``.

    The deviation is that of the losing periods only (not Sortino & Price's target downside
    deviation over all periods). No losing period, or losing periods all equal, is a zero
    deviation: ±inf by the sign of the mean (NaN for a zero mean). Fewer than two returns: NaN.
    """
    r = _returns(daily_returns)
    if r.size < 2:
        return math.nan
    mean = float(r.mean())
    losing = r[r < 0]
    # Equality test rather than std == 0: the float std of identical values can be 1e-19.
    if losing.size == 0 or np.all(losing == losing[0]):
        return _ratio_of_zero_spread(mean)
    return mean / float(losing.std(ddof=0)) * math.sqrt(periods_per_year)


def _equity(equity: pd.Series | npt.ArrayLike) -> pd.Series:
    series = equity if isinstance(equity, pd.Series) else pd.Series(np.asarray(equity))
    series = series.astype(np.float64)
    if series.empty:
        raise ValueError("equity is empty; expected at least the starting balance")
    _finite(series.to_numpy(), "equity")
    if (series < 0).any():
        raise ValueError(f"equity must be >= 0, got a minimum of {float(series.min())}")
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


def _days(series: pd.Series, periods_per_year: float) -> int:
    """Whole days covered, as Freqtrade's ``(max_date - min_date).days``: from the index span
    for a DatetimeIndex, else one point per period."""
    if isinstance(series.index, pd.DatetimeIndex):
        return int((series.index[-1] - series.index[0]).days)
    return math.floor((len(series) - 1) * DAYS_PER_YEAR / periods_per_year)


def cagr_of(days: int, starting_balance: float, final_balance: float) -> float:
    """Freqtrade's ``calculate_cagr``: ``(final / start) ** (365 / days) - 1``; NaN for no
    whole day or a balance Freqtrade answers 0 for (start <= 0, final < 0); inf on overflow
    (Freqtrade: 0)."""
    start, final = float(starting_balance), float(final_balance)  # Python floats raise on overflow
    if days <= 0 or start <= 0 or final < 0:
        return math.nan
    try:
        return (final / start) ** (1 / (days / DAYS_PER_YEAR)) - 1
    except OverflowError:
        return math.inf


def cagr(equity: pd.Series | npt.ArrayLike, periods_per_year: float = 365) -> float:
    """Compound annual growth rate of an equity curve (``cagr_of`` its first and last value).

    Days are the whole days of the index span for a DatetimeIndex, else
    ``(len - 1) * 365 / periods_per_year`` rounded down (one point per period).
    """
    series = _equity(equity)
    return cagr_of(_days(series, periods_per_year), series.iloc[0], series.iloc[-1])


def calmar_of(total_return: float, days: int, max_drawdown_fraction: float) -> float:
    """Freqtrade's Calmar (``calculate_calmar`` / ``calculate_calmar_from_balance``):
    ``total_return / max(1, days) * 100 / drawdown * sqrt(365)``.

    ``total_return`` is (final - start) / start. Freqtrade's ``drawdown`` is the *relative*
    drawdown (0.25 = 25 %) at the trough of the largest *money* drawdown
    (:attr:`TradeDrawdowns.relative_at_money_trough`), which can be smaller than the deepest
    relative one. No drawdown: ±inf by the sign of the return (NaN for none).
    """
    if not (0.0 <= max_drawdown_fraction <= 1.0):
        raise ValueError(f"max drawdown must be a fraction in [0, 1], got {max_drawdown_fraction}")
    mean_daily_pct = total_return / max(1, days) * 100
    if max_drawdown_fraction == 0.0:
        return _ratio_of_zero_spread(mean_daily_pct)
    return mean_daily_pct / max_drawdown_fraction * math.sqrt(DAYS_PER_YEAR)


def calmar_ratio(equity: pd.Series | npt.ArrayLike, periods_per_year: float = 365) -> float:
    """Freqtrade's Calmar of an equity curve (``calculate_calmar_from_balance``): total return
    over whole days (at least 1), in percent, over the relative drawdown at the largest money
    drawdown, times ``sqrt(365)``. NaN for fewer than two points."""
    series = _equity(equity)
    if len(series) < 2:
        return math.nan
    values = series.to_numpy()
    total_return = float(values[-1] / values[0] - 1.0)
    # Freqtrade's balance history is its changes from the first balance, a zero one first.
    dd = trade_drawdowns(np.diff(values, prepend=values[0]), float(values[0]))
    return calmar_of(total_return, _days(series, periods_per_year), dd.relative_at_money_trough)


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
    pnl = _finite(trade_pnls, "trade pnl")
    if pnl.size == 0:
        return math.nan
    gains = float(pnl[pnl > 0].sum())
    losses = float(-pnl[pnl < 0].sum())
    return profit_factor_of_sums(gains, losses)


def profit_factor_or_none(trade_pnls: ReturnsLike) -> float | None:
    """:func:`profit_factor` with undefined (no trade, or neither profit nor loss) as None."""
    return undefined_as_none(profit_factor(trade_pnls))


def running_peak(cumulative: FloatArray) -> FloatArray:
    """Freqtrade's ``high_value`` (``_calc_drawdown_series``): the running maximum of the
    cumulative pnl, never below 0, as the starting balance is the first peak."""
    peak = np.maximum.accumulate(cumulative)
    return np.maximum(peak, 0.0, out=peak)


@dataclass(frozen=True)
class TradeDrawdowns:
    """Freqtrade's two maximum drawdowns of a per-trade series (``calculate_max_drawdown``
    without and with ``relative=True``): positions are trade indexes in close order."""

    money: float
    peak_index: int
    trough_index: int
    relative: float
    # Freqtrade's relative_account_drawdown without relative=True: the share of the peak lost
    # at the money trough (its Calmar's denominator).
    relative_at_money_trough: float


def trade_drawdowns(pnl: ReturnsLike, starting_balance: float) -> TradeDrawdowns:
    """``calculate_max_drawdown``'s arithmetic on the per-trade pnl in close order.

    Freqtrade's series starts with a zero row (cumulative 0, peak 0: the starting balance);
    the money drawdown is the first minimum of cumulative - peak, its peak the first maximum of
    the peak up to there, the relative one the first maximum of (peak balance - balance) / peak
    balance; row ``i`` is trade ``i - 1`` and the zero row is reported as the first trade. Here
    the zero row is not built but decided on: it wins the minimum when no trade falls below a
    peak, and the maximum of the peak while the peak is still the starting balance (0).

    The same sums and comparisons as Freqtrade's pandas code, without its two DataFrames of a
    million rows each (which were most of the ledger summary's time after the fetch). The
    relative figure equals :func:`max_drawdown` of the balance after each trade, preceded by the
    starting balance. No trade: no drawdown."""
    values = _finite(pnl, "trade pnl")
    if not starting_balance > 0:
        raise ValueError(f"starting balance must be positive, got {starting_balance}")
    if values.size == 0:
        return TradeDrawdowns(0.0, 0, 0, 0.0, 0.0)
    cumulative = np.cumsum(values)
    high = running_peak(cumulative)
    fall = cumulative - high  # Freqtrade's "drawdown": <= 0
    trough = int(np.argmin(fall))
    money, peak_index = 0.0, 0
    fell = bool(fall[trough] < 0)
    if fell:
        top = int(np.argmax(high[: trough + 1]))
        money, peak_index = -float(fall[trough]), top if high[top] > 0 else 0
    else:
        trough = 0
    peak_balance = high
    peak_balance += starting_balance
    relative = (peak_balance - (cumulative + starting_balance)) / peak_balance
    return TradeDrawdowns(
        money=money,
        peak_index=peak_index,
        trough_index=trough,
        relative=max(float(relative.max()), 0.0),
        relative_at_money_trough=float(relative[trough]) if fell else 0.0,
    )


def _day(value: Any) -> np.datetime64:
    """A UTC calendar day as a numpy scalar (not a 0-d array: pandas takes only the scalar)."""
    return np.datetime64(
        pd.Timestamp(np.asarray(value).item() if isinstance(value, np.ndarray) else value).date(),
        "D",
    )


def daily_balance(
    close_times: npt.NDArray[Any],
    pnl: ReturnsLike,
    starting_balance: float,
    first_day: np.datetime64 | None = None,
    last_day: np.datetime64 | None = None,
) -> pd.DataFrame:
    """End-of-UTC-day balance (columns ``date``, ``balance``) for every calendar day from
    ``first_day`` to ``last_day`` (default: the days of the first and last close), preceded by
    the starting balance on the day before: the daily resampling of Freqtrade's
    ``_calculate_daily_returns_from_balance``, with days without a close as flat days, which a
    Sharpe ratio must count (leaving them out would overstate it).

    ``close_times`` are naive UTC ``datetime64`` in any order; a close outside the days is an
    error. No close and no explicit days: an empty frame.
    """
    values = _finite(pnl, "trade pnl")
    days = np.asarray(close_times).astype("datetime64[D]")
    if days.size != values.size:
        raise ValueError(f"{days.size} close times but {values.size} pnl values")
    if np.isnat(days).any():
        raise ValueError("close times contain NaT; expected a close time for every trade")
    if days.size == 0 and (first_day is None or last_day is None):
        return pd.DataFrame(
            {"date": pd.DatetimeIndex([], tz="UTC"), "balance": np.zeros(0, dtype=np.float64)}
        )
    first = _day(first_day if first_day is not None else days.min())
    last = _day(last_day if last_day is not None else days.max())
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    if days.size and (days.min() < first or days.max() > last):
        raise ValueError(
            f"closes from {days.min()} to {days.max()} fall outside the days {first} … {last}"
        )
    offset = (days - first).astype(np.int64)
    n_days = int((last - first).astype(np.int64)) + 1
    per_day = np.bincount(offset, weights=values, minlength=n_days)
    balance = starting_balance + np.concatenate(([0.0], np.cumsum(per_day)))
    calendar = pd.date_range(
        pd.Timestamp(first) - timedelta(days=1), periods=len(balance), freq="D", tz="UTC"
    )
    return pd.DataFrame({"date": calendar, "balance": balance})


def balance_returns(balance: pd.DataFrame) -> FloatArray:
    """Daily simple returns of a :func:`daily_balance` frame."""
    values = balance["balance"].to_numpy(dtype=np.float64)
    if values.size < 2:
        return np.zeros(0, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return values[1:] / values[:-1] - 1.0


def balance_days(balance: pd.DataFrame) -> int:
    """Whole days a :func:`daily_balance` frame spans (Freqtrade's ``days_period`` before its
    floor of 1)."""
    if len(balance) < 2:
        return 0
    return int((balance["date"].iloc[-1] - balance["date"].iloc[0]).days)


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
