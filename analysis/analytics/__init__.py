"""Ledger analytics over the ``trades`` table, one SQLAlchemy Core code path for SQLite and
PostgreSQL. Every function takes an engine and a :class:`TradeFilter` and returns typed results.
See docs/analytics.md for what each figure means."""

from tribar.analysis.analytics.breakdowns import (
    by_hour,
    by_pair,
    by_weekday,
    confidence_buckets,
    extremes,
    hour_weekday_matrix,
    pick_extremes,
    stake_currencies,
)
from tribar.analysis.analytics.equity import equity_curve
from tribar.analysis.analytics.execution import execution_quality
from tribar.analysis.analytics.filters import TradeFilter
from tribar.analysis.analytics.results import (
    GROUP_COLUMNS,
    WEEKDAY_NAMES,
    ConfidenceBuckets,
    Distribution,
    ExecutionQuality,
    Extremes,
    HourWeekdayMatrix,
    LedgerSummary,
)
from tribar.analysis.analytics.summary import summary

__all__ = [
    "GROUP_COLUMNS",
    "WEEKDAY_NAMES",
    "ConfidenceBuckets",
    "Distribution",
    "ExecutionQuality",
    "Extremes",
    "HourWeekdayMatrix",
    "LedgerSummary",
    "TradeFilter",
    "by_hour",
    "by_pair",
    "by_weekday",
    "confidence_buckets",
    "equity_curve",
    "execution_quality",
    "extremes",
    "hour_weekday_matrix",
    "pick_extremes",
    "stake_currencies",
    "summary",
]
