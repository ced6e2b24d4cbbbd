"""Pure (de)serialisation of the durable risk state (no Freqtrade imports).

The state is stored as one JSON string under ``STATE_KEY``; a corrupt or
unknown-version value raises ``RiskStateError`` naming the key and what was
expected, so callers can fail safe (stay HALTED).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tribar.risk.circuit_breaker import Halt

STATE_KEY = "tribar_risk_state"
SCHEMA_VERSION = 1


class RiskStateError(ValueError):
    """The stored risk state cannot be used."""


@dataclass(frozen=True)
class RiskState:
    equity_peak: float | None
    halts: tuple[Halt, ...] = field(default_factory=tuple)
    daily_loss_day: date | None = None


def _err(what: str) -> RiskStateError:
    return RiskStateError(f"key {STATE_KEY!r}: {what}")


def serialise(state: RiskState) -> str:
    return json.dumps(
        {
            "version": SCHEMA_VERSION,
            "equity_peak": state.equity_peak,
            "daily_loss_day": state.daily_loss_day.isoformat() if state.daily_loss_day else None,
            "halts": [
                {
                    "key": h.key,
                    "reason": h.reason,
                    "since": h.since.isoformat(),
                    "until": h.until.isoformat() if h.until else None,
                }
                for h in state.halts
            ],
        },
        sort_keys=True,
    )


def _moment(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise _err(f"{where}: expected an ISO-8601 timestamp string, got {raw!r}")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise _err(f"{where}: expected an ISO-8601 timestamp, got {raw!r}") from exc
    if moment.tzinfo is None:
        raise _err(f"{where}: expected a timezone-aware timestamp, got {raw!r}")
    return moment


def parse(value: str) -> RiskState:
    try:
        data = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise _err(f"expected a JSON object, got {value!r:.80}") from exc
    if not isinstance(data, dict):
        raise _err(f"expected a JSON object, got {type(data).__name__}")
    if data.get("version") != SCHEMA_VERSION:
        raise _err(f"expected version {SCHEMA_VERSION}, got {data.get('version')!r}")
    peak = data.get("equity_peak")
    if peak is not None and (isinstance(peak, bool) or not isinstance(peak, (int, float))):
        raise _err(f"equity_peak: expected a number or null, got {peak!r}")
    day_raw = data.get("daily_loss_day")
    day: date | None = None
    if day_raw is not None:
        try:
            day = date.fromisoformat(day_raw)
        except (TypeError, ValueError) as exc:
            raise _err(f"daily_loss_day: expected YYYY-MM-DD or null, got {day_raw!r}") from exc
    halts_raw = data.get("halts")
    if not isinstance(halts_raw, list):
        raise _err(f"halts: expected a list, got {halts_raw!r}")
    halts: list[Halt] = []
    for i, item in enumerate(halts_raw):
        where = f"halts[{i}]"
        if not isinstance(item, dict):
            raise _err(f"{where}: expected an object, got {item!r}")
        key, reason = item.get("key"), item.get("reason")
        if not isinstance(key, str) or not key or not isinstance(reason, str):
            raise _err(f"{where}: expected non-empty string 'key' and string 'reason'")
        until_raw = item.get("until")
        until = None if until_raw is None else _moment(until_raw, f"{where}.until")
        halts.append(Halt(key, reason, _moment(item.get("since"), f"{where}.since"), until))
    return RiskState(None if peak is None else float(peak), tuple(halts), day)
