"""Typed answers of the analytics queries. ``None`` means "not defined for these trades"
(no trades, no losing trade for a profit factor, fewer than two days for a Sharpe…), never 0,
so a report can say "n/a" instead of showing a misleading number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Columns of every per-group frame (by_hour, by_weekday, by_pair, confidence buckets).
GROUP_COLUMNS = (
    "trades",
    "wins",
    "losses",
    "win_rate",
    "net_pnl",
    "avg_pnl",
    "gross_profit",
    "gross_loss",
    "profit_factor",
)


@dataclass(frozen=True)
class LedgerSummary:
    """Headline figures. Money is in the stake currency; a win is ``net_pnl > 0``, a loss
    ``net_pnl < 0``; ``win_rate`` = wins / all trades (break-even trades count as trades)."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    net_pnl: float
    avg_pnl: float | None
    gross_profit: float
    # Sum of losing trades' net pnl, as a positive number.
    gross_loss: float
    # gross_profit / gross_loss; inf when there are wins and no loss; None with neither.
    profit_factor: float | None
    commission: float
    # freqtrade.data.metrics.calculate_expectancy: average money per trade, and per unit risked.
    expectancy: float | None
    expectancy_ratio: float | None
    first_close: datetime | None
    last_close: datetime | None
    starting_balance: float
    final_balance: float
    # Daily, annualised with sqrt(365), from end-of-UTC-day balances (days without trades count);
    # freqtrade.data.metrics' conventions (docs/analytics.md). None where undefined (too few
    # days, or a zero deviation with a zero mean); ±inf for a zero deviation otherwise.
    sharpe: float | None
    sortino: float | None
    # Freqtrade's Calmar: total return / days * 100 over the relative drawdown at the money
    # drawdown's trough (not always max_drawdown_pct), times sqrt(365); ±inf without a fall.
    calmar: float | None
    # Largest peak-to-trough fall of the per-trade equity curve in money (>= 0; the starting
    # balance counts as a peak), and the closes of the trades at its peak and its trough.
    max_drawdown: float
    drawdown_peak_at: datetime | None
    drawdown_trough_at: datetime | None
    # Deepest fall as a share of the balance at its peak (0.25 = 25 %), freqtrade's "max relative
    # drawdown"; can be a different episode from max_drawdown when the balance grew in between.
    max_drawdown_pct: float

    @property
    def empty(self) -> bool:
        return self.trades == 0


@dataclass(frozen=True)
class Extremes:
    """Best and worst hour of day (UTC) and pair by net pnl; None without trades."""

    best_hour: int | None
    worst_hour: int | None
    best_pair: str | None
    worst_pair: str | None


@dataclass(frozen=True)
class HourWeekdayMatrix:
    """7 x 24 frames: index = weekday 0 (Mon) … 6 (Sun), columns = UTC hour 0 … 23."""

    trades: pd.DataFrame
    net_pnl: pd.DataFrame
    # NaN where a cell has no trade.
    win_rate: pd.DataFrame


@dataclass(frozen=True)
class ConfidenceBuckets:
    """Equal-width model-confidence buckets over [0, 1]. ``frame`` has one row per bucket, empty
    buckets included, with ``lower``/``upper`` bounds and the GROUP_COLUMNS figures.
    Trades without a model confidence are not in any bucket; they are counted in ``unscored``."""

    frame: pd.DataFrame
    unscored_trades: int
    unscored_net_pnl: float


@dataclass(frozen=True)
class Distribution:
    """Percentiles are linear-interpolated (PostgreSQL percentile_cont, numpy 'linear')."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class ExecutionQuality:
    """Fill quality of the trades that recorded it; trades with NULL telemetry are skipped."""

    slippage_bps: Distribution
    order_latency_ms: Distribution
