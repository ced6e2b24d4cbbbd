"""The paper-trading acceptance criteria: figures from closed trades, heartbeats and the ledger,
each judged against a threshold, and an overall GO / NO-GO.

Sharpe and drawdown follow ``freqtrade.data.metrics`` (the conventions of Freqtrade's backtest
report, so a paper run and its backtest are comparable); profit factor is Freqtrade's backtest
definition (gross profit / gross loss, 0 without losses). A run with too few trades or days
gets the verdict TOO SHORT instead of GO or NO-GO: the figures would mean nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
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


def profit_factor(profits: pd.Series) -> float | None:
    """``performance.profit_factor`` (inf without losses) with undefined (no trade, or no
    profit and no loss) as None."""
    value = perf.profit_factor(profits)
    return None if math.isnan(value) else value


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
    """Judge closed ``trades`` (columns ``profit_abs``, ``close_date``) over [start, end]."""
    from freqtrade.data.metrics import calculate_max_drawdown, calculate_sharpe

    closed = trades.sort_values("close_date")
    profits = closed["profit_abs"].astype(float)
    n = len(closed)
    win_rate = float((profits > 0).mean()) if n else None
    sharpe = float(calculate_sharpe(closed, start, end, starting_balance)) if n else None
    drawdown: float | None = 0.0
    if n:
        try:
            result = calculate_max_drawdown(
                closed, value_col="profit_abs", starting_balance=starting_balance, relative=True
            )
            drawdown = float(result.relative_account_drawdown)
        except ValueError:  # Freqtrade's "no losing trade" case: nothing was ever drawn down
            drawdown = 0.0
    else:
        drawdown = None
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
        profit_factor=profit_factor(profits),
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
