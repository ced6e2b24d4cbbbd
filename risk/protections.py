"""Default settings for Freqtrade's four built-in protections (the strategy's ``protections``).

Durations are in minutes rather than candles so they mean the same on any timeframe. Freqtrade
silently ignores misspelt keys, so tests/risk/test_protections.py builds each protection with
Freqtrade's own classes and checks that every value below arrives.

These are soft, per-candle guards on top of the hard limits in RiskManager; they run in
backtests only with ``--enable-protections``. StoplossGuard counts only trades whose exit
reason is one of Freqtrade's stop-loss kinds (stop_loss, stoploss_on_exchange,
trailing_stop_loss, liquidation): a stop barrier implemented through ``custom_exit`` with its
own exit reason is invisible to it.
"""

from __future__ import annotations

from typing import Any

_HOUR = 60
_DAY = 24 * _HOUR


def default_protections() -> list[dict[str, Any]]:
    """A fresh list (Freqtrade may keep a reference; callers may edit their copy)."""
    return [
        # Give a pair one hour after an exit before re-entering: the signal that just exited
        # is usually still there, and re-entering on it doubles one bet.
        {"method": "CooldownPeriod", "stop_duration": _HOUR},
        # Three stop-outs across all pairs within a day suggests a regime the model has not
        # seen; stand aside for six hours.
        {
            "method": "StoplossGuard",
            "lookback_period": _DAY,
            "trade_limit": 3,
            "stop_duration": 6 * _HOUR,
            "only_per_pair": False,
            "required_profit": 0.0,
        },
        # Account-relative drawdown of closed trades over two days above 8 %: pause 12 hours.
        # This fires well before the hard max_drawdown_pct halt, which needs a person.
        {
            "method": "MaxDrawdown",
            "lookback_period": 2 * _DAY,
            "trade_limit": 5,
            "stop_duration": 12 * _HOUR,
            "max_allowed_drawdown": 0.08,
            "calculation_mode": "equity",
        },
        # A pair whose last three days of trades (at least three) lost money in sum is locked
        # for a day: the model's edge on it has probably gone.
        {
            "method": "LowProfitPairs",
            "lookback_period": 3 * _DAY,
            "trade_limit": 3,
            "stop_duration": _DAY,
            "required_profit": 0.0,
        },
    ]
