"""Circuit breaker state transitions, listeners and thread safety."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tribar.risk.circuit_breaker import BreakerChange, BreakerEvent, BreakerState, CircuitBreaker

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def breaker_and_events() -> tuple[CircuitBreaker, list[BreakerEvent]]:
    breaker = CircuitBreaker()
    events: list[BreakerEvent] = []
    breaker.add_listener(events.append)
    return breaker, events


def test_starts_active() -> None:
    breaker = CircuitBreaker()
    assert breaker.state is BreakerState.ACTIVE
    assert breaker.reason is None and breaker.since is None and breaker.until is None
    assert not breaker.is_halted(T0)


def test_trip_halts_and_notifies_once(
    breaker_and_events: tuple[CircuitBreaker, list[BreakerEvent]],
) -> None:
    breaker, events = breaker_and_events
    assert breaker.trip("drawdown 16%", T0) is True
    assert breaker.state is BreakerState.HALTED
    assert (breaker.reason, breaker.since, breaker.until) == ("drawdown 16%", T0, None)
    assert [e.change for e in events] == [BreakerChange.TRIPPED]
    assert events[0].state_changed and events[0].state is BreakerState.HALTED
    assert "HALTED" in events[0].message() and "manual reset" in events[0].message()

    # The equity check re-trips every loop: no state change, no new message.
    assert breaker.trip("drawdown 17%", T0 + HOUR, key="drawdown 16%") is False
    assert len(events) == 1
    assert breaker.reason == "drawdown 17%" and breaker.since == T0


def test_clear_returns_to_active(
    breaker_and_events: tuple[CircuitBreaker, list[BreakerEvent]],
) -> None:
    breaker, events = breaker_and_events
    breaker.trip("floor", T0)
    assert breaker.clear(T0 + HOUR) is True
    assert breaker.state is BreakerState.ACTIVE
    assert events[-1].change is BreakerChange.CLEARED and events[-1].state_changed
    assert "ACTIVE again" in events[-1].message()
    assert breaker.clear(T0 + HOUR) is False  # nothing to clear
    assert len(events) == 2


def test_timed_halt_clears_itself_when_refreshed(
    breaker_and_events: tuple[CircuitBreaker, list[BreakerEvent]],
) -> None:
    breaker, events = breaker_and_events
    breaker.trip("daily loss", T0, until=T0 + 2 * HOUR)
    assert breaker.until == T0 + 2 * HOUR
    assert breaker.refresh(T0 + HOUR) is False
    assert breaker.is_halted(T0 + 2 * HOUR - timedelta(seconds=1))
    assert breaker.refresh(T0 + 2 * HOUR) is True
    assert breaker.state is BreakerState.ACTIVE
    assert [e.change for e in events] == [BreakerChange.TRIPPED, BreakerChange.CLEARED]


def test_retrip_extends_but_never_shortens() -> None:
    breaker = CircuitBreaker()
    breaker.trip("x", T0, until=T0 + 2 * HOUR)
    breaker.trip("x", T0, until=T0 + HOUR)
    assert breaker.until == T0 + 2 * HOUR
    breaker.trip("x", T0, until=T0 + 3 * HOUR)
    assert breaker.until == T0 + 3 * HOUR
    breaker.trip("x", T0)  # indefinite beats any date
    assert breaker.until is None


def test_halt_already_over_is_ignored(
    breaker_and_events: tuple[CircuitBreaker, list[BreakerEvent]],
) -> None:
    breaker, events = breaker_and_events
    assert breaker.trip("late", T0, until=T0) is False
    assert breaker.state is BreakerState.ACTIVE and events == []


def test_independent_halts_clear_independently(
    breaker_and_events: tuple[CircuitBreaker, list[BreakerEvent]],
) -> None:
    breaker, events = breaker_and_events
    breaker.trip("daily loss", T0, until=T0 + HOUR, key="daily")
    assert breaker.trip("drawdown", T0 + timedelta(minutes=5), key="dd") is False
    assert breaker.reason == "daily loss; drawdown"
    assert breaker.since == T0 and breaker.until is None  # the drawdown halt has no end
    assert [e.change for e in events] == [BreakerChange.TRIPPED, BreakerChange.HALT_ADDED]

    # Midnight passes: the daily lock lifts, the drawdown halt stays.
    assert breaker.refresh(T0 + HOUR) is False
    assert breaker.state is BreakerState.HALTED and breaker.reason == "drawdown"
    assert events[-1].change is BreakerChange.HALT_REMOVED
    assert "Still halted: drawdown" in events[-1].message()

    assert breaker.clear(T0 + 2 * HOUR, key="nope") is False
    assert breaker.clear(T0 + 2 * HOUR, key="dd") is True
    assert events[-1].change is BreakerChange.CLEARED


def test_naive_datetimes_are_utc() -> None:
    breaker = CircuitBreaker()
    breaker.trip("x", datetime(2026, 3, 1, 12), until=datetime(2026, 3, 1, 13))
    assert breaker.since == T0 and breaker.until == T0 + HOUR
    assert breaker.since is not None and breaker.since.tzinfo is not None


def test_snapshot_is_plain_json() -> None:
    breaker = CircuitBreaker()
    breaker.trip("daily loss", T0, until=T0 + HOUR, key="daily")
    snap = json.loads(json.dumps(breaker.snapshot()))
    assert snap["state"] == "halted"
    assert snap["until"] == (T0 + HOUR).isoformat()
    assert snap["halts"] == [
        {"key": "daily", "reason": "daily loss", "since": T0.isoformat(), "until": snap["until"]}
    ]


def test_failing_listener_does_not_break_the_breaker_or_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    breaker = CircuitBreaker()
    seen: list[BreakerChange] = []

    def broken(event: BreakerEvent) -> None:
        raise RuntimeError("telegram down")

    breaker.add_listener(broken)
    breaker.add_listener(lambda e: seen.append(e.change))
    assert breaker.trip("x", T0) is True
    assert seen == [BreakerChange.TRIPPED]
    assert "listener failed" in caplog.text


def test_listener_may_read_the_breaker_without_deadlock() -> None:
    breaker = CircuitBreaker()
    states: list[str] = []

    def reader(event: BreakerEvent) -> None:
        # Run from another thread: would hang if the lock were still held.
        worker = threading.Thread(target=lambda: states.append(breaker.snapshot()["state"]))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive()

    breaker.add_listener(reader)
    breaker.trip("x", T0)
    breaker.clear(T0)
    assert states == ["halted", "active"]


def test_removed_listener_is_not_called() -> None:
    breaker = CircuitBreaker()
    calls: list[BreakerEvent] = []
    breaker.add_listener(calls.append)
    breaker.remove_listener(calls.append)
    breaker.trip("x", T0)
    assert calls == []


def test_concurrent_trips_and_clears_stay_consistent() -> None:
    breaker = CircuitBreaker()
    events: list[BreakerEvent] = []
    breaker.add_listener(events.append)

    def hammer(worker: int) -> None:
        for i in range(200):
            breaker.trip(f"w{worker}", T0, key=f"w{worker}-{i % 3}")
            if i % 2:
                breaker.clear(T0, key=f"w{worker}-{i % 3}")
            breaker.snapshot()

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    breaker.clear(T0)
    assert breaker.state is BreakerState.ACTIVE
    # Every halt that was added was removed exactly once.
    added = sum(e.change in (BreakerChange.TRIPPED, BreakerChange.HALT_ADDED) for e in events)
    removed = sum(e.change in (BreakerChange.CLEARED, BreakerChange.HALT_REMOVED) for e in events)
    assert added == removed > 0


class _Recorder:
    """A picklable listener (a module-level class, as a strategy's bound method is)."""

    def __init__(self) -> None:
        self.events: list[BreakerEvent] = []

    def __call__(self, event: BreakerEvent) -> None:
        self.events.append(event)


def test_a_pickled_copy_keeps_halts_and_listeners_with_its_own_lock() -> None:
    # Freqtrade's hyperopt pickles the strategy, its RiskManager and this breaker for its
    # worker processes; a threading lock cannot be pickled.
    import pickle

    breaker = CircuitBreaker()
    recorder = _Recorder()
    breaker.add_listener(recorder)
    breaker.trip("drawdown 16%", T0, key="drawdown")

    copy = pickle.loads(pickle.dumps(breaker))

    assert copy.halts() == breaker.halts()
    assert copy._lock is not breaker._lock
    assert copy.trip("daily loss", T0 + HOUR, T0 + 2 * HOUR, key="daily") is False
    assert copy.state is BreakerState.HALTED
    (copied_recorder,) = copy._listeners
    assert [e.change for e in copied_recorder.events] == [
        BreakerChange.TRIPPED, BreakerChange.HALT_ADDED,
    ]  # fmt: skip
    # The original is untouched by what happens to the copy.
    assert [h.key for h in breaker.halts()] == ["drawdown"]
    assert [e.change for e in recorder.events] == [BreakerChange.TRIPPED]
    # The copy's lock works across threads like the original's.
    worker = threading.Thread(target=copy.clear, args=(T0 + 3 * HOUR,))
    worker.start()
    worker.join(timeout=5)
    assert copy.state is BreakerState.ACTIVE
