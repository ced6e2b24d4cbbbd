"""Freqtrade's four built-in protections (the strategy's ``protections``), from settings.

``ProtectionSettings`` holds the values the strategy's hyperoptable ``protection`` space moves
(durations in hours, trade counts, the MaxDrawdown threshold); its defaults are the shipped
protections, so ``default_protections()`` is ``protections_from_settings(ProtectionSettings())``.
The lookback windows and the other keys are fixed here.

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

import numbers
from dataclasses import dataclass, fields
from typing import Any

_HOUR = 60
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class ProtectionSettings:
    """What the ``protection`` hyperopt space moves; the defaults are the shipped values."""

    # Give a pair one hour after an exit before re-entering: the signal that just exited is
    # usually still there, and re-entering on it doubles one bet.
    cooldown_hours: int = 1
    # Three stop-outs across all pairs within a day suggests a regime the model has not seen;
    # stand aside for six hours.
    stoploss_guard_trade_limit: int = 3
    stoploss_guard_stop_hours: int = 6
    # Account-relative drawdown of closed trades over two days above 8 %: pause 12 hours. This
    # fires well before the hard max_drawdown_pct halt, which needs a person.
    max_drawdown_allowed: float = 0.08
    max_drawdown_stop_hours: int = 12
    # A pair whose last three days of trades (at least three) lost money in sum is locked for a
    # day: the model's edge on it has probably gone.
    low_profit_trade_limit: int = 3
    low_profit_stop_hours: int = 24


def settings_problems(settings: ProtectionSettings) -> list[str]:
    """One line per unusable value (each names the setting and what was expected)."""
    problems: list[str] = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if item.name == "max_drawdown_allowed":
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not 0.0 < float(value) < 1.0:
                problems.append(
                    f"{item.name}={value!r}: expected a ratio in (0, 1) (0.08 = 8 % drawdown)"
                )
        # numbers.Integral: hyperopt may hand over numpy integers.
        elif isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            problems.append(f"{item.name}={value!r}: expected an integer >= 1")
    return problems


def protections_from_settings(settings: ProtectionSettings) -> list[dict[str, Any]]:
    """A fresh list (Freqtrade may keep a reference; callers may edit their copy).

    Raises ``ValueError`` naming every bad setting (the bot then stops at start: Freqtrade reads
    the protections once when it starts and again at /reload_config)."""
    problems = settings_problems(settings)
    if problems:
        raise ValueError("invalid protection settings: " + "; ".join(problems))
    return [
        {"method": "CooldownPeriod", "stop_duration": int(settings.cooldown_hours) * _HOUR},
        {
            "method": "StoplossGuard",
            "lookback_period": _DAY,
            "trade_limit": int(settings.stoploss_guard_trade_limit),
            "stop_duration": int(settings.stoploss_guard_stop_hours) * _HOUR,
            "only_per_pair": False,
            "required_profit": 0.0,
        },
        {
            "method": "MaxDrawdown",
            "lookback_period": 2 * _DAY,
            "trade_limit": 5,
            "stop_duration": int(settings.max_drawdown_stop_hours) * _HOUR,
            "max_allowed_drawdown": float(settings.max_drawdown_allowed),
            "calculation_mode": "equity",
        },
        {
            "method": "LowProfitPairs",
            "lookback_period": 3 * _DAY,
            "trade_limit": int(settings.low_profit_trade_limit),
            "stop_duration": int(settings.low_profit_stop_hours) * _HOUR,
            "required_profit": 0.0,
        },
    ]


def default_protections() -> list[dict[str, Any]]:
    """The shipped protections (a fresh list)."""
    return protections_from_settings(ProtectionSettings())
