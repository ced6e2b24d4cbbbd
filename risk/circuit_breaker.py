"""The one place that says whether the bot may open trades: ACTIVE, or HALTED with reasons.

Limits write it (``trip`` / ``clear``), the entry gate and monitoring read it (``is_halted``,
``snapshot``), and listeners forward changes to ``dp.send_msg`` so Telegram hears about them.

Several halts can hold at once (a daily-loss lock until midnight and an indefinite drawdown
halt); each has a key, and the breaker is HALTED while any of them holds. Clearing the
midnight lock must not silently lift the drawdown halt, which is why they are kept apart.
Tripping a key that already holds is silent (the equity check re-trips on every loop), except
that it may lengthen the halt.

Thread-safe: Freqtrade calls the strategy from its main loop while the REST API and Telegram
threads read the snapshot. Listeners run after the lock is released, so a listener may read
the breaker; an exception in a listener is logged and swallowed, never raised into the bot loop.
Picklable (hyperopt's worker processes): a copy has its own lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tribar.risk.clock import as_utc

logger = logging.getLogger(__name__)


class BreakerState(StrEnum):
    ACTIVE = "active"
    HALTED = "halted"


class BreakerChange(StrEnum):
    TRIPPED = "tripped"  # ACTIVE -> HALTED
    CLEARED = "cleared"  # HALTED -> ACTIVE
    HALT_ADDED = "halt_added"  # another reason while already HALTED
    HALT_REMOVED = "halt_removed"  # one reason gone, others still hold


@dataclass(frozen=True)
class Halt:
    key: str
    reason: str
    since: datetime
    until: datetime | None  # None: until someone clears it


@dataclass(frozen=True)
class BreakerEvent:
    change: BreakerChange
    halt: Halt  # the halt that was added or removed
    at: datetime
    state: BreakerState  # after the change
    snapshot: dict[str, Any]  # after the change

    @property
    def state_changed(self) -> bool:
        return self.change in (BreakerChange.TRIPPED, BreakerChange.CLEARED)

    def message(self) -> str:
        """One line for Telegram / the log."""
        until = self.halt.until.isoformat() if self.halt.until else "manual reset"
        if self.change is BreakerChange.TRIPPED:
            return f"Risk circuit breaker HALTED: {self.halt.reason} (until {until})."
        if self.change is BreakerChange.HALT_ADDED:
            return f"Risk circuit breaker also halted: {self.halt.reason} (until {until})."
        if self.change is BreakerChange.CLEARED:
            return f"Risk circuit breaker ACTIVE again: cleared {self.halt.reason}."
        remaining = self.snapshot.get("reason") or ""
        return f"Risk halt lifted: {self.halt.reason}. Still halted: {remaining}."


BreakerListener = Callable[[BreakerEvent], None]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class CircuitBreaker:
    """ACTIVE / HALTED state with reason, since and until (aware UTC datetimes)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._halts: dict[str, Halt] = {}
        self._listeners: list[BreakerListener] = []

    # Pickling (Freqtrade's hyperopt ships the strategy, and with it this breaker, to its worker
    # processes): a lock guards one process's state and cannot be pickled, so a copy gets a
    # fresh one. Halts and listeners travel with it.

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {"halts": dict(self._halts), "listeners": list(self._listeners)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.RLock()
        self._halts = dict(state["halts"])
        self._listeners = list(state["listeners"])

    def add_listener(self, listener: BreakerListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: BreakerListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # Reading. `until` and friends describe the combined halt: the earliest start, and the
    # latest end (None if any halt lasts until cleared).

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return BreakerState.HALTED if self._halts else BreakerState.ACTIVE

    @property
    def reason(self) -> str | None:
        with self._lock:
            halts = sorted(self._halts.values(), key=lambda h: h.since)
            return "; ".join(h.reason for h in halts) or None

    @property
    def since(self) -> datetime | None:
        with self._lock:
            return min((h.since for h in self._halts.values()), default=None)

    @property
    def until(self) -> datetime | None:
        with self._lock:
            ends = [h.until for h in self._halts.values()]
            if not ends or any(end is None for end in ends):
                return None
            return max(end for end in ends if end is not None)

    def halts(self) -> list[Halt]:
        with self._lock:
            return sorted(self._halts.values(), key=lambda h: h.since)

    def is_halted(self, now: datetime) -> bool:
        """Expire what has run out, then answer."""
        self.refresh(now)
        return self.state is BreakerState.HALTED

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-ready dict for monitoring, the REST API and Telegram.

        Reflects the last refresh; the bot loop refreshes on every ``is_halted`` call
        (``RiskManager.update_equity`` and ``decide`` make one).
        """
        with self._lock:
            halts = self.halts()
            return {
                "state": self.state.value,
                "reason": self.reason,
                "since": _iso(self.since),
                "until": _iso(self.until),
                "halts": [
                    {
                        "key": h.key,
                        "reason": h.reason,
                        "since": _iso(h.since),
                        "until": _iso(h.until),
                    }
                    for h in halts
                ],
            }

    # Writing.

    def trip(
        self, reason: str, now: datetime, until: datetime | None = None, *, key: str | None = None
    ) -> bool:
        """Halt for ``reason`` until ``until`` (None: until cleared). True if ACTIVE -> HALTED.

        ``key`` (default: ``reason``) identifies the halt; tripping a key that already holds
        keeps its start, takes the later end and the new reason, and notifies nobody. A halt
        whose ``until`` is not after ``now`` is ignored.
        """
        now = as_utc(now)
        end = as_utc(until) if until is not None else None
        if end is not None and end <= now:
            return False
        halt_key = key or reason
        with self._lock:
            events = self._expire(now)
            was_halted = bool(self._halts)
            existing = self._halts.get(halt_key)
            if existing is not None:
                longer = None if end is None or existing.until is None else max(end, existing.until)
                self._halts[halt_key] = Halt(halt_key, reason, existing.since, longer)
            else:
                halt = Halt(halt_key, reason, now, end)
                self._halts[halt_key] = halt
                change = BreakerChange.HALT_ADDED if was_halted else BreakerChange.TRIPPED
                events.append(self._event(change, halt, now))
        self._notify(events)
        return not was_halted

    def clear(self, now: datetime, *, key: str | None = None) -> bool:
        """Lift one halt (``key``) or all of them. True if HALTED -> ACTIVE."""
        now = as_utc(now)
        with self._lock:
            keys = list(self._halts) if key is None else [k for k in self._halts if k == key]
            events = self._remove(keys, now)
        self._notify(events)
        return any(e.change is BreakerChange.CLEARED for e in events)

    def refresh(self, now: datetime) -> bool:
        """Lift halts whose ``until`` has passed. True if HALTED -> ACTIVE."""
        now = as_utc(now)
        with self._lock:
            events = self._expire(now)
        self._notify(events)
        return any(e.change is BreakerChange.CLEARED for e in events)

    def restore(self, halts: Iterable[Halt]) -> None:
        """Put back halts a restart lost (``tribar.risk.store``), without notifying anyone: they
        were announced when they tripped. A key that already holds keeps its current halt."""
        with self._lock:
            for halt in halts:
                self._halts.setdefault(halt.key, halt)

    # Internals: the _-methods below run with the lock held and return events, which the
    # public methods deliver after releasing it.

    def _expire(self, now: datetime) -> list[BreakerEvent]:
        expired = [k for k, h in self._halts.items() if h.until is not None and h.until <= now]
        return self._remove(expired, now)

    def _remove(self, keys: list[str], now: datetime) -> list[BreakerEvent]:
        events = []
        for halt_key in keys:
            halt = self._halts.pop(halt_key)
            change = BreakerChange.HALT_REMOVED if self._halts else BreakerChange.CLEARED
            events.append(self._event(change, halt, now))
        return events

    def _event(self, change: BreakerChange, halt: Halt, now: datetime) -> BreakerEvent:
        return BreakerEvent(change, halt, now, self.state, self.snapshot())

    def _notify(self, events: list[BreakerEvent]) -> None:
        if not events:
            return
        with self._lock:
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    logger.exception("circuit breaker listener failed on %s", event.change)
