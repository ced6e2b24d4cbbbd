"""The pre-trade risk decision: one request in, one decision out.

``EntryRequest`` is everything the risk layer needs to decide on one entry, built once by the
strategy adapter from Freqtrade's objects; ``RiskManager.decide`` turns it into an
``EntryDecision`` (a stake, or a refusal with its reason). ``DECISION_ORDER`` lists the steps
in the order ``decide`` runs them; docs/risk.md repeats it as a numbered list and a test keeps
the two identical. A refusal's ``code`` and a resized stake's ``binding`` are step names from
this tuple, so monitoring can count refusals by a small, fixed set of labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

# Steps of RiskManager.decide, in order. Each limit appears once: it is enforced at that step
# and nowhere else in the entry path.
DECISION_ORDER: tuple[str, ...] = (
    "request",  # pair, clock and sizing mode readable
    "circuit_breaker",  # any halt: daily loss, drawdown, balance floor, manual
    "blacklist_symbols",
    "max_trades_per_hour",
    "inputs",  # equity, exposure, leverage, min/max stake; Kelly: p, price, ATR, baseline
    "signal_age",  # Kelly: the signal candle is the last closed one
    "payoff_ratio",  # Kelly: barrier ratio shrunk toward closed trades; 0 -> refuse
    "kelly_edge",  # Kelly: f = kelly_fraction * f*; f* <= 0 -> refuse (no minimum bet)
    "volatility_scale",  # Kelly: x clamp(baseline / ATR)
    "max_position_pct",  # Kelly: f * s at most this fraction of equity
    "max_position_value_usd",  # room left for this pair
    "max_total_exposure_usd",  # room left for the account
    "max_stake",  # notional / leverage, at most Freqtrade's max_stake
    "min_stake",  # below the exchange minimum -> refuse (never rounded up)
)

# Steps that can shrink a stake; one of them is the decision's ``binding`` when it did.
CAP_STEPS: tuple[str, ...] = (
    "max_position_pct",
    "max_position_value_usd",
    "max_total_exposure_usd",
    "max_stake",
)

Sizing = Literal["kelly", "fixed"]


def _frozen_mapping(value: Any) -> Any:
    # A copy the caller cannot mutate after the fact; anything else is kept as given so that
    # decide() can refuse it with a reason instead of the constructor raising in the bot loop.
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


def _frozen_tuple(value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value


@dataclass(frozen=True)
class EntryRequest:
    """One proposed entry, as plain values. Never validated on construction: ``decide``
    checks every field and refuses with a reason naming the bad one.

    Money is in the stake currency. ``open_exposure`` maps each pair with open trades to its
    position value (stake x leverage). ``proposed_stake`` is Freqtrade's stake (the fixed
    stake when ``sizing`` is "fixed"); ``min_stake`` / ``max_stake`` are what Freqtrade passes
    to ``custom_stake_amount`` (``max_stake`` is margin, before leverage). ``recent_entry_times``
    are the open dates of trades (any pair) from at least the last hour. ``signal_time`` is the
    open time of the signal candle; with ``timeframe`` it tells a stale signal from a fresh one.
    ``closed_profit_ratios`` are closed trades' ``close_profit`` for the payoff shrinkage.
    ``kelly_multiplier`` and ``vol_scale_max_multiplier`` are the strategy's hyperoptable sizing
    knobs (``tribar.risk.sizing_knobs``): in (0, 1], 1.0 sizes exactly as configured.
    """

    pair: str
    time: datetime
    sizing: Sizing = "kelly"
    price: float | None = None
    probability: float | None = None
    atr: float | None = None
    atr_baseline: float | None = None
    k_tp: float | None = None
    k_sl: float | None = None
    fee: float | None = None
    is_short: bool = False
    signal_time: datetime | None = None
    timeframe: timedelta | None = None
    equity: float | None = None
    open_exposure: Mapping[str, float] = field(default_factory=dict)
    recent_entry_times: Sequence[datetime] = ()
    closed_profit_ratios: Sequence[float] = ()
    proposed_stake: float | None = None
    min_stake: float | None = None
    max_stake: float | None = None
    leverage: float = 1.0
    kelly_multiplier: float = 1.0
    vol_scale_max_multiplier: float = 1.0

    def __post_init__(self) -> None:
        # Stored as tuples / a read-only mapping: the request is immutable once built.
        object.__setattr__(self, "open_exposure", _frozen_mapping(self.open_exposure))
        object.__setattr__(self, "recent_entry_times", _frozen_tuple(self.recent_entry_times))
        object.__setattr__(self, "closed_profit_ratios", _frozen_tuple(self.closed_profit_ratios))

    def __reduce__(self) -> tuple[Any, ...]:
        # A read-only mapping does not pickle; decisions carry their request and the strategy
        # keeps decisions, and hyperopt pickles the strategy to its workers.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(values["open_exposure"], MappingProxyType):
            values["open_exposure"] = dict(values["open_exposure"])
        return (_rebuild_request, (values,))


def _rebuild_request(values: dict[str, Any]) -> EntryRequest:
    return EntryRequest(**values)


@dataclass(frozen=True)
class EntryDecision:
    """The answer to one ``EntryRequest``.

    ``allowed`` with ``stake`` > 0 (margin, before leverage), or refused with ``stake`` 0.
    ``code``: for a refusal the ``DECISION_ORDER`` step that refused; for an allowed entry
    the cap that bound (``binding``) or "ok". ``reason`` is the human-readable explanation.
    """

    allowed: bool
    stake: float
    code: str
    reason: str
    pair: str = ""
    time: datetime | None = None
    binding: str | None = None
    payoff_ratio: float = 0.0
    kelly_fraction: float = 0.0
    volatility_scale: float = 0.0
    # The request this answers (set by ``decide``), so a listener can record what was proposed
    # (probability, proposed stake, signal candle, ...); not part of the decision's identity.
    request: EntryRequest | None = field(default=None, compare=False, repr=False)

    @property
    def refused(self) -> bool:
        return not self.allowed

    @property
    def resized(self) -> bool:
        """Allowed, but smaller than Kelly x volatility (or the fixed stake) asked for."""
        return self.allowed and self.binding is not None
