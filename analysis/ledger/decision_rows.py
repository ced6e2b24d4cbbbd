"""Ledger rows for the risk layer's entry decisions that refused or resized an entry.

Pure functions, no I/O: ``build_decision_row(decision, context)`` turns a
``tribar.risk.EntryDecision`` (with the ``EntryRequest`` it answers) into a row of the
``entry_decisions`` table, or None for a decision worth no row (allowed at full size).

The no-flood rule. Freqtrade asks ``custom_stake_amount`` on every bot loop (every few seconds)
while an entry signal stands, so a refused signal would repeat the same answer hundreds of times
per candle. The ledger keeps **one row per (bot, pair, side, signal candle, outcome)**, where the
outcome is ``allowed`` plus the code (the refusing step or the binding cap); the row holds the
first such decision. ``decision_key`` is a hash of exactly these fields: the database has it as a
unique key and the mirror inserts with ON CONFLICT DO NOTHING, so repeats after a restart or a
re-delivery add nothing. A request without a signal candle time uses the UTC hour of the decision
instead. ``DecisionDeduper`` drops the repeats on the bot thread before they reach the outbox.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tribar.analysis.ledger.schema import DECISION_COLUMNS, entry_decisions
from tribar.analysis.ledger.trade_rows import RowContext

_DECIMALS = frozenset(c.name for c in entry_decisions.columns if c.type.python_type is Decimal)
_DATETIMES = frozenset(("decided_at", "signal_time"))
_LIMITS = {
    c.name: int(length)
    for c in entry_decisions.columns
    if (length := getattr(c.type, "length", None)) is not None
}


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: Any) -> float | None:
    """A finite float or None (bad inputs are what a refusal is about; the row keeps going)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _money(value: Any) -> Decimal | None:
    number = _number(value)
    if number is None or abs(number) >= 1e17:  # NUMERIC(28, 10) holds 18 integer digits
        return None
    return Decimal(repr(number))


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    limit = _LIMITS.get(name)
    return text[:limit] if limit is not None else text


def worth_recording(decision: Any) -> bool:
    """Refused, or allowed with a smaller stake than asked for."""
    return bool(getattr(decision, "refused", False) or getattr(decision, "resized", False))


def decision_key(
    context: RowContext,
    pair: str,
    side: str,
    signal_time: datetime | None,
    decided_at: datetime,
    allowed: bool,
    code: str,
) -> str:
    """The no-flood key (module docstring): 64 hex characters."""
    candle = (
        signal_time.isoformat()
        if signal_time is not None
        else "hour:" + decided_at.replace(minute=0, second=0, microsecond=0).isoformat()
    )
    parts = (
        context.source, context.bot_name or "", context.exchange or "", context.strategy or "",
        pair, side, candle, "allowed" if allowed else "refused", code,
    )  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def build_decision_row(decision: Any, context: RowContext) -> dict[str, Any] | None:
    """The ``entry_decisions`` row for ``decision`` (every key of DECISION_COLUMNS), or None if
    it neither refused nor resized. Never raises on odd values: unreadable numbers become NULL."""
    if not worth_recording(decision):
        return None
    request = getattr(decision, "request", None)
    pair = _text(decision.pair or getattr(request, "pair", "") or "?", "symbol") or "?"
    decided_at = _utc(decision.time) or _utc(getattr(request, "time", None))
    if decided_at is None:
        decided_at = datetime.now(UTC)
    signal_time = _utc(getattr(request, "signal_time", None))
    side = "short" if getattr(request, "is_short", False) is True else "long"
    allowed = bool(decision.allowed)
    code = _text(decision.code, "code") or "request"
    probability = _number(getattr(request, "probability", None))
    if probability is not None and not 0.0 <= probability <= 1.0:
        probability = None
    sizing = getattr(request, "sizing", None)
    row: dict[str, Any] = {
        "decision_key": decision_key(context, pair, side, signal_time, decided_at, allowed, code),
        "decided_at": decided_at,
        "signal_time": signal_time,
        "symbol": pair,
        "side": side,
        "allowed": allowed,
        "code": code,
        "reason": str(decision.reason),
        "sizing": sizing if sizing in ("kelly", "fixed") else None,
        "proposed_stake": _money(getattr(request, "proposed_stake", None)),
        "stake": _money(decision.stake) or Decimal(0),
        "min_stake": _money(getattr(request, "min_stake", None)),
        "max_stake": _money(getattr(request, "max_stake", None)),
        "equity": _money(getattr(request, "equity", None)),
        "price": _money(getattr(request, "price", None)),
        "probability": probability,
        "payoff_ratio": _number(decision.payoff_ratio),
        "kelly_fraction": _number(decision.kelly_fraction),
        "volatility_scale": _number(decision.volatility_scale),
        "leverage": _number(getattr(request, "leverage", None)),
        "bot_name": context.bot_name,
        "strategy": context.strategy,
        "strategy_version": context.strategy_version,
        "config_hash": context.config_hash,
        "exchange": context.exchange,
        "stake_currency": context.stake_currency,
        "dry_run": bool(context.dry_run),
        "source": context.source,
    }
    if row["stake"] < 0:
        row["stake"] = Decimal(0)
    return row


def decision_row_to_json(row: Mapping[str, Any]) -> str:
    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(f"decision row value of type {type(value).__name__} is not serialisable")

    return json.dumps(row, default=encode, separators=(",", ":"), allow_nan=False)


def decision_row_from_json(text: str) -> dict[str, Any]:
    """Inverse of :func:`decision_row_to_json`; unknown or missing keys are an error."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"decision row payload must be a JSON object, got {type(data).__name__}")
    if set(data) != set(DECISION_COLUMNS):
        raise ValueError(
            "decision row payload columns differ from entry_decisions: "
            f"unknown {sorted(set(data) - set(DECISION_COLUMNS))}, "
            f"missing {sorted(set(DECISION_COLUMNS) - set(data))}"
        )
    row: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            row[name] = None
        elif name in _DECIMALS:
            row[name] = Decimal(value)
        elif name in _DATETIMES:
            row[name] = _utc(datetime.fromisoformat(value))
        else:
            row[name] = value
    return row


class DecisionDeduper:
    """Remembers the last ``capacity`` decision keys; ``first(key)`` is True once per key.

    Bounded so a bot running for months keeps a small set: a key only repeats while its signal
    candle is the newest one, and anything older that slips through is dropped by the
    database's unique key anyway.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"DecisionDeduper capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first(self, key: str) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)
