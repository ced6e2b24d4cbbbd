"""tribar.risk: stake sizing, hard limits, protections and the circuit breaker.

Pure code (math, numpy, pandas, pydantic); nothing here imports Freqtrade. The strategy calls
``RiskManager`` from its callbacks; see ``tribar.risk.manager`` and docs/risk.md.
"""

from tribar.risk.circuit_breaker import (
    BreakerChange,
    BreakerEvent,
    BreakerState,
    CircuitBreaker,
    Halt,
)
from tribar.risk.clock import next_utc_midnight, start_of_utc_day
from tribar.risk.decision import CAP_STEPS, DECISION_ORDER, EntryDecision, EntryRequest
from tribar.risk.equity import mark_to_market_equity
from tribar.risk.kelly import (
    kelly_fraction,
    payoff_ratio_from_barriers,
    shrunk_payoff_ratio,
    split_profit_ratios,
)
from tribar.risk.limits import (
    DEFAULT_LIMITS_FILE,
    RiskConfigError,
    RiskLimits,
    SizingParams,
    load_risk_limits,
)
from tribar.risk.manager import (
    DAILY_LOSS_LOCK_REASON,
    HALT_BALANCE_FLOOR,
    HALT_DAILY_LOSS,
    HALT_DRAWDOWN,
    DecisionListener,
    EquityStatus,
    RiskManager,
)
from tribar.risk.protections import (
    ProtectionSettings,
    default_protections,
    protections_from_settings,
)
from tribar.risk.sizing_knobs import KNOB_NAMES, knob_problem, tightened_sizing
from tribar.risk.volatility import rolling_baseline_atr, volatility_scale

__all__ = [
    "CAP_STEPS",
    "DAILY_LOSS_LOCK_REASON",
    "DECISION_ORDER",
    "DEFAULT_LIMITS_FILE",
    "HALT_BALANCE_FLOOR",
    "HALT_DAILY_LOSS",
    "HALT_DRAWDOWN",
    "KNOB_NAMES",
    "BreakerChange",
    "BreakerEvent",
    "BreakerState",
    "CircuitBreaker",
    "DecisionListener",
    "EntryDecision",
    "EntryRequest",
    "EquityStatus",
    "Halt",
    "ProtectionSettings",
    "RiskConfigError",
    "RiskLimits",
    "RiskManager",
    "SizingParams",
    "default_protections",
    "kelly_fraction",
    "knob_problem",
    "load_risk_limits",
    "mark_to_market_equity",
    "next_utc_midnight",
    "payoff_ratio_from_barriers",
    "protections_from_settings",
    "rolling_baseline_atr",
    "shrunk_payoff_ratio",
    "split_profit_ratios",
    "start_of_utc_day",
    "tightened_sizing",
    "volatility_scale",
]
