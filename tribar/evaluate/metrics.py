"""Equity and statistics of one backtest, from Freqtrade's result file.

Equity is *mark-to-market*: Freqtrade 2026.9 stores a wallet snapshot per candle in the result
(``*_wallet.feather``: every currency held, valued at the candle's open), so open positions count
at their market value and the drawdown includes what open trades lost before they closed.
Freqtrade's own headline drawdown uses closed trades only; both are reported.

Daily returns are taken between 00:00 UTC snapshots (the open of the day = the close of the day
before); the last point is the final balance at the end of the range. All ratios come from
``tribar.analysis.analytics.performance``, tribar's one metrics module (freqtrade.data.metrics'
conventions, the figures ``tribar report`` and the paper acceptance show).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.data.btanalysis import load_backtest_data, load_backtest_stats
from freqtrade.data.btanalysis.bt_fileutils import get_backtest_wallet_change
from scipy import stats as scipy_stats

from tribar.analysis.analytics import performance as perf

BOOTSTRAP_BLOCK_DAYS = 10  # keeps serial dependence of about two weeks in the resamples
BOOTSTRAP_SAMPLES = 5000


@dataclass(frozen=True)
class BacktestResult:
    strategy: str
    stats: dict[str, Any]  # Freqtrade's statistics of this strategy
    trades: pd.DataFrame  # one row per trade (Freqtrade's columns)
    equity: pd.Series  # mark-to-market equity, UTC DatetimeIndex, start … end of the range


@dataclass(frozen=True)
class Performance:
    trades: int
    win_rate: float
    avg_win: float  # mean profit ratio of winning trades (net of fees)
    avg_loss: float  # mean profit ratio of losing trades (negative)
    profit_factor: float
    total_return: float
    cagr: float  # Freqtrade's calculate_cagr over whole days
    sharpe: float  # annualised from daily returns (365 days), ddof=0
    sharpe_ci: tuple[float, float]  # 95 % stationary block bootstrap
    sharpe_se: float  # asymptotic standard error (non-normal returns), annualised
    psr: float  # P(true Sharpe > 0)
    sortino: float  # Freqtrade's: mean daily return / std of the losing days, annualised
    calmar: float  # Freqtrade's: total return / days * 100 / max drawdown * sqrt(365)
    max_drawdown: float  # mark-to-market at every candle of the backtest
    exposure: float  # share of the range with at least one open position
    days: int  # daily returns
    final_equity: float
    daily_returns: pd.Series


def wallet_equity(
    result_file: Path, strategy: str, start: datetime, end: datetime, final_balance: float,
    starting_balance: float,
) -> pd.Series:  # fmt: skip
    """Total wallet value per snapshot, framed by the starting balance at ``start`` and the final
    balance (every trade closed) at ``end``."""
    wallet = get_backtest_wallet_change(result_file, strategy)
    if wallet is None or wallet.empty:
        series = pd.Series(dtype=float)
    else:
        series = wallet.groupby("date")["total_quote"].sum().astype(float)
    series = series[(series.index > pd.Timestamp(start)) & (series.index < pd.Timestamp(end))]
    framed = pd.concat(
        [
            pd.Series([starting_balance], index=pd.DatetimeIndex([pd.Timestamp(start)])),
            series,
            pd.Series([final_balance], index=pd.DatetimeIndex([pd.Timestamp(end)])),
        ]
    )
    framed.index = pd.DatetimeIndex(framed.index).tz_convert("UTC")
    return framed.sort_index()


def load_result(result_file: Path, strategy: str, start: datetime, end: datetime) -> BacktestResult:
    stats = load_backtest_stats(result_file)["strategy"][strategy]
    trades = load_backtest_data(result_file, strategy)
    equity = wallet_equity(
        result_file, strategy, start, end, float(stats["final_balance"]),
        float(stats["starting_balance"]),
    )  # fmt: skip
    return BacktestResult(strategy, stats, trades, equity)


def daily_equity(equity: pd.Series) -> pd.Series:
    """Equity at every 00:00 UTC from the first to the last point (last value at or before)."""
    grid = pd.date_range(equity.index[0].ceil("1D"), equity.index[-1].floor("1D"), freq="1D")
    points = equity.reindex(equity.index.union(grid)).ffill().loc[grid]
    if points.index[0] != equity.index[0]:
        points = pd.concat([equity.iloc[:1], points])
    if points.index[-1] != equity.index[-1]:
        points = pd.concat([points, equity.iloc[-1:]])
    return points


def sharpe_standard_error(daily_returns: pd.Series, periods_per_year: float = 365) -> float:
    """Asymptotic SE of the annualised Sharpe ratio with skewness and kurtosis (Mertens 2002),
    the same moments as ``probabilistic_sharpe_ratio``: ``sqrt((1 - g3 SR + (g4-1)/4 SR^2) /
    (n-1))`` per period, times ``sqrt(periods_per_year)``."""
    r = daily_returns.dropna().to_numpy(dtype=float)
    if r.size < 3 or np.all(r == r[0]):
        return math.nan
    sr = float(r.mean() / r.std(ddof=1))
    g3 = float(scipy_stats.skew(r))
    g4 = float(scipy_stats.kurtosis(r, fisher=False))
    variance = (1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2) / (r.size - 1)
    return math.sqrt(variance * periods_per_year) if variance > 0 else math.nan


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def performance(
    equity: pd.Series, trades: pd.DataFrame, start: datetime, end: datetime
) -> Performance:
    daily = daily_equity(equity)
    returns = daily.pct_change().dropna()
    pnl = trades["profit_abs"] if len(trades) else pd.Series(dtype=float)
    ratios = trades["profit_ratio"] if len(trades) else pd.Series(dtype=float)
    max_dd, _, _ = perf.max_drawdown(equity)
    exposure = (
        perf.exposure(trades["open_date"], trades["close_date"], start, end) if len(trades) else 0.0
    )
    return Performance(
        trades=len(trades),
        win_rate=float((pnl > 0).mean()) if len(pnl) else math.nan,
        avg_win=_mean(ratios[pnl > 0]),
        avg_loss=_mean(ratios[pnl < 0]),
        profit_factor=perf.profit_factor(pnl),
        total_return=float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        cagr=perf.cagr(equity),
        sharpe=perf.sharpe_ratio(returns),
        sharpe_ci=perf.block_bootstrap_sharpe_ci(
            returns, block=BOOTSTRAP_BLOCK_DAYS, n_boot=BOOTSTRAP_SAMPLES
        ),
        sharpe_se=sharpe_standard_error(returns),
        psr=perf.probabilistic_sharpe_ratio(returns),
        sortino=perf.sortino_ratio(returns),
        calmar=perf.calmar_ratio(equity),
        max_drawdown=max_dd,
        exposure=exposure,
        days=len(returns),
        final_equity=float(equity.iloc[-1]),
        daily_returns=returns,
    )
