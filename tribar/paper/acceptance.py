"""The paper-trading acceptance criteria: figures from closed trades, heartbeats and the ledger,
each judged against a threshold, and an overall GO / NO-GO.

Every metric comes from ``tribar.analysis.analytics.performance``, the module ``tribar report``
and ``tribar evaluate`` use, on freqtrade.data.metrics' conventions: the Sharpe (and Sortino) is
the *daily* one of the report, from end-of-UTC-day balances over every day of the run (days
without a close are flat days), so a paper run, its backtest evaluation and the ledger report
show the same figure for the same trades. Max drawdown is Freqtrade's relative drawdown of the
closed trades (share of the peak balance), profit factor gross profit / gross loss (inf without
losses, undefined as None). A run with too few trades or days gets the verdict TOO SHORT
instead of GO or NO-GO: the figures would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tribar.analysis.analytics import performance as perf

Verdict = Literal["GO", "NO-GO", "TOO SHORT"]


class AcceptanceThresholds(BaseModel):
    """Config section ``tribar.paper_acceptance``; fractions are 0..1 (0.52 = 52 %)."""

    model_config = ConfigDict(extra="forbid")

    min_win_rate: float = Field(0.52, ge=0, le=1)
    min_sharpe: float = 1.5
    max_drawdown: float = Field(0.15, gt=0, le=1)
    min_uptime: float = Field(0.995, ge=0, le=1)
    max_latency_p95_ms: float = Field(500.0, gt=0)
    # A run shorter than this is not judged.
    min_trades: int = Field(30, ge=1)
    min_days: float = Field(14.0, gt=0)


@dataclass(frozen=True)
class Criterion:
    name: str
    value: float | None
    threshold: float
    direction: Literal[">", "<"]
    unit: str = ""

    @property
    def passed(self) -> bool | None:
        if self.value is None or not np.isfinite(self.value):
            return None
        if self.direction == ">":
            return self.value > self.threshold
        return self.value < self.threshold


@dataclass(frozen=True)
class AcceptanceFigures:
    """Everything the report shows besides the pass/fail criteria."""

    start: datetime
    end: datetime
    closed_trades: int
    open_trades: int
    total_profit: float
    profit_factor: float | None
    # Daily, as the Sharpe criterion (performance.sortino_ratio / calmar_of); None if undefined.
    sortino: float | None
    calmar: float | None
    avg_win: float | None
    avg_loss: float | None
    trades_per_week: float
    slippage_vs_signal_bps_mean: float | None
    slippage_vs_signal_bps_p95: float | None
    edge_gate_open_share: float | None
    edge_gate_trainings: int | None


@dataclass(frozen=True)
class AcceptanceResult:
    criteria: list[Criterion]
    figures: AcceptanceFigures
    verdict: Verdict
    reason: str


def _utc_naive(moments: pd.Series | datetime) -> npt.NDArray[np.datetime64]:
    index = pd.DatetimeIndex([moments] if isinstance(moments, datetime) else moments)
    # Freqtrade's dates are UTC; a naive one is read as UTC too.
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.tz_localize(None).to_numpy(dtype="datetime64[us]")


def run_daily_balance(
    closed: pd.DataFrame, start: datetime, end: datetime, starting_balance: float
) -> pd.DataFrame:
    """End-of-UTC-day balance over every day the run [start, end) touches (and any day a trade
    closed on outside it, so no trade is dropped), from the starting balance."""
    closes = _utc_naive(closed["close_date"]) if len(closed) else np.zeros(0, "datetime64[us]")
    first = _utc_naive(start)[0].astype("datetime64[D]")
    # An end at 00:00 sharp does not open a new day; the run covers at least its first day.
    last = max(first, (_utc_naive(end)[0] - np.timedelta64(1, "us")).astype("datetime64[D]"))
    if closes.size:
        first = min(first, closes.min().astype("datetime64[D]"))
        last = max(last, closes.max().astype("datetime64[D]"))
    profits = closed["profit_abs"].to_numpy(dtype=np.float64) if len(closed) else np.zeros(0)
    return perf.daily_balance(closes, profits, starting_balance, first_day=first, last_day=last)


def judge(
    trades: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    starting_balance: float,
    open_trades: int,
    uptime: float | None,
    latency_p95_ms: float | None,
    slippage_bps: pd.Series,
    edge_gate: tuple[int, int] | None,
    thresholds: AcceptanceThresholds,
) -> AcceptanceResult:
    """Judge closed ``trades`` (columns ``profit_abs``, ``close_date``) over [start, end].

    A NaN or infinite ``profit_abs`` is a ValueError naming the column: a figure computed
    without that trade would be wrong, not merely less precise."""
    if not starting_balance > 0:
        raise ValueError(f"starting balance must be positive, got {starting_balance}")
    closed = trades.sort_values("close_date", kind="stable")
    profits = closed["profit_abs"].astype(float)
    bad = profits.index[~np.isfinite(profits.to_numpy())]
    if len(bad):
        raise ValueError(
            f"closed trades: profit_abs is NaN/infinite in {len(bad)} row(s) (index "
            f"{', '.join(map(str, bad[:5]))}); expected a finite profit for every closed trade"
        )
    n = len(closed)
    win_rate = float((profits > 0).mean()) if n else None
    balance = run_daily_balance(closed, start, end, starting_balance)
    returns = perf.balance_returns(balance)
    sharpe = perf.undefined_as_none(perf.sharpe_ratio(returns)) if n else None
    sortino = perf.undefined_as_none(perf.sortino_ratio(returns)) if n else None
    dd = perf.trade_drawdowns(profits.to_numpy(), starting_balance)
    drawdown = dd.relative if n else None
    calmar = (
        perf.undefined_as_none(
            perf.calmar_of(
                float(profits.sum()) / starting_balance,
                perf.balance_days(balance),
                dd.relative_at_money_trough,
            )
        )
        if n
        else None
    )
    days = (end - start) / timedelta(days=1)
    criteria = [
        Criterion("win rate", win_rate, thresholds.min_win_rate, ">", "%"),
        Criterion("Sharpe", sharpe, thresholds.min_sharpe, ">"),
        Criterion("max drawdown", drawdown, thresholds.max_drawdown, "<", "%"),
        Criterion("uptime", uptime, thresholds.min_uptime, ">", "%"),
        Criterion("order latency p95", latency_p95_ms, thresholds.max_latency_p95_ms, "<", "ms"),
    ]
    wins, losses = profits[profits > 0], profits[profits < 0]
    finite_slip = slippage_bps.dropna()
    figures = AcceptanceFigures(
        start=start,
        end=end,
        closed_trades=n,
        open_trades=open_trades,
        total_profit=float(profits.sum()),
        profit_factor=perf.profit_factor_or_none(profits),
        sortino=sortino,
        calmar=calmar,
        avg_win=float(wins.mean()) if len(wins) else None,
        avg_loss=float(losses.mean()) if len(losses) else None,
        trades_per_week=n / days * 7 if days > 0 else 0.0,
        slippage_vs_signal_bps_mean=float(finite_slip.mean()) if len(finite_slip) else None,
        slippage_vs_signal_bps_p95=float(np.percentile(finite_slip, 95))
        if len(finite_slip)
        else None,
        edge_gate_open_share=edge_gate[0] / edge_gate[1] if edge_gate and edge_gate[1] else None,
        edge_gate_trainings=edge_gate[1] if edge_gate else None,
    )
    if n < thresholds.min_trades or days < thresholds.min_days:
        verdict: Verdict = "TOO SHORT"
        reason = (
            f"{n} closed trade(s) over {days:.1f} day(s); judging needs at least "
            f"{thresholds.min_trades} trades and {thresholds.min_days:g} days"
        )
    else:
        failed = [c.name for c in criteria if c.passed is not True]
        verdict = "GO" if not failed else "NO-GO"
        reason = "every criterion passed" if not failed else "failed: " + ", ".join(failed)
    return AcceptanceResult(criteria, figures, verdict, reason)


def slippage_vs_signal_bps(entries: pd.DataFrame, signal_close: pd.Series) -> pd.Series:
    """Adverse entry slippage against the signal candle's close, in basis points (positive =
    bought above the close the signal was computed on)."""
    return (entries["open_rate"] / signal_close - 1.0) * 1e4
