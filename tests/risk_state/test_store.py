"""The durable risk state on real databases: SQLite files and the PostgreSQL test server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tribar.risk.circuit_breaker import Halt
from tribar.risk.limits import RiskLimits
from tribar.risk.manager import HALT_BALANCE_FLOOR, HALT_DRAWDOWN, RiskManager
from tribar.risk.state import STATE_KEY, RiskState
from tribar.risk.store import (
    CORRUPT_STATE_REASON,
    HALT_CORRUPT_STATE,
    HALT_STATE_UNREADABLE,
    RESET_KEY,
    TABLE_NAME,
    ResetRequest,
    RiskStateStore,
    RiskStateSync,
    parse_reset,
    serialise_reset,
)

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC)
LIMITS = RiskLimits(max_drawdown_pct=5.0, min_account_balance_usd=100.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trades.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[RiskStateStore]:
    s = RiskStateStore.from_url(db_url)
    yield s
    s.dispose()


def _long_state() -> RiskState:
    halts = tuple(
        Halt(f"key{i}", "drawdown 17.25% from peak 1234.56 reached max_drawdown_pct 15 " * 3,
             T0 + timedelta(minutes=i), None if i % 2 else T0 + timedelta(days=1))
        for i in range(5)
    )  # fmt: skip
    return RiskState(1234.5, halts, T0.date())


def test_state_longer_than_a_varchar_255_round_trips(store: RiskStateStore) -> None:
    state = _long_state()
    assert store.load_state() is None
    store.save_state(state)
    assert len(store.read_raw() or "") > 255
    assert store.load_state() == state
    # A second writer's connection (the CLI) sees the committed row.
    other = RiskStateStore(sa.create_engine(store._engine.url))
    assert other.load_state() == state
    other.dispose()


def test_status_reads_nothing_and_creates_nothing_on_a_fresh_database(db_url: str) -> None:
    reader = RiskStateStore.from_url(db_url)
    assert reader.rows() == {} and reader.load_state() is None
    assert not reader.table_exists()
    reader.dispose()


def test_bot_writes_never_overwrite_a_pending_reset(store: RiskStateStore) -> None:
    store.save_state(RiskState(100.0))
    first = store.request_reset("first", T0)
    store.save_state(RiskState(90.0))  # the bot keeps writing its own row
    assert store.pending_reset() == first
    second = store.request_reset("second", T0 + timedelta(seconds=1))
    # The bot read `first`, then the operator asked again: consuming `first` keeps `second`.
    assert not store.discard_reset(first)
    assert store.pending_reset() == second
    assert store.discard_reset(second)
    assert store.pending_reset() is None
    assert store.load_state() == RiskState(90.0)


@given(st.text(), st.datetimes(timezones=st.just(UTC)), st.text(min_size=1))
def test_reset_request_round_trips(reason: str, at: datetime, request_id: str) -> None:
    request = ResetRequest(request_id, reason, at)
    assert parse_reset(serialise_reset(request)) == request


def _manager() -> RiskManager:
    return RiskManager(LIMITS)


def test_restore_brings_back_peak_and_halts_so_a_restart_stays_halted(
    store: RiskStateStore,
) -> None:
    live = _manager()
    sync = RiskStateSync(store, live)
    sync.restore(T0)
    live.update_equity(1000.0, T0)
    live.update_equity(940.0, T0 + timedelta(hours=1))  # 6 % drawdown
    assert sync.save_if_changed(T0 + timedelta(hours=1))

    restarted = _manager()
    said: list[str] = []
    RiskStateSync(store, restarted, announce=said.append).restore(T0 + timedelta(hours=2))
    assert restarted.equity_peak == 1000.0
    assert [h.key for h in restarted.breaker.halts()] == [HALT_DRAWDOWN]
    # Equity recovered a little but is still below the stored peak: the halt holds, the peak
    # is not re-based on the current equity.
    status = restarted.update_equity(960.0, T0 + timedelta(hours=2))
    assert status.halted and status.peak == 1000.0
    assert restarted.breaker.is_halted(T0 + timedelta(hours=2))
    assert said and "still HALTED" in said[0]


def test_writes_only_on_change(store: RiskStateStore) -> None:
    manager = _manager()
    sync = RiskStateSync(store, manager)
    sync.restore(T0)
    manager.update_equity(1000.0, T0)
    assert sync.save_if_changed(T0)  # first peak
    manager.update_equity(990.0, T0 + timedelta(minutes=5))
    assert not sync.save_if_changed(T0 + timedelta(minutes=5))  # nothing durable changed
    manager.update_equity(1010.0, T0 + timedelta(minutes=10))
    assert sync.save_if_changed(T0 + timedelta(minutes=10))  # peak moved
    manager.update_equity(950.0, T0 + timedelta(minutes=15))
    assert sync.save_if_changed(T0 + timedelta(minutes=15))  # halt tripped
    manager.update_equity(940.0, T0 + timedelta(minutes=20))
    # Re-tripped with a new drawdown figure in its reason: the same halt, no write.
    assert not sync.save_if_changed(T0 + timedelta(minutes=20))
    assert sync.save_if_changed(T0 + timedelta(days=1))  # UTC day rolled
    stored = store.load_state()
    assert stored is not None and stored.daily_loss_day == (T0 + timedelta(days=1)).date()
    assert stored.equity_peak == 1010.0


@pytest.mark.parametrize(
    "raw", ["{not json", '{"version": 7, "halts": []}', '{"version": 1, "halts": "x"}']
)
def test_corrupt_value_keeps_the_bot_halted_and_logs_where(
    store: RiskStateStore, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    store._put(STATE_KEY, raw)
    manager = _manager()
    sync = RiskStateSync(store, manager)
    with caplog.at_level(logging.ERROR, logger="tribar.risk.store"):
        sync.restore(T0)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and TABLE_NAME in errors[0] and STATE_KEY in errors[0]
    assert manager.breaker.reason == CORRUPT_STATE_REASON
    manager.update_equity(1000.0, T0)
    assert manager.breaker.is_halted(T0)
    # The corrupt value stays for the operator to inspect until a reset replaces it.
    assert not sync.save_if_changed(T0)
    assert store.read_raw() == raw

    store.request_reset("inspected", T0)
    said: list[str] = []
    sync = RiskStateSync(store, manager, announce=said.append)
    applied = sync.apply_reset(T0 + timedelta(minutes=5), 1000.0)
    assert applied is not None and applied.reason == "inspected"
    assert HALT_CORRUPT_STATE not in {h.key for h in manager.breaker.halts()}
    assert not manager.breaker.halts()
    assert store.load_state() == RiskState(1000.0, (), (T0 + timedelta(minutes=5)).date())
    assert store.pending_reset() is None
    assert said and "inspected" in said[0] and "ACTIVE" in said[0]


def test_reset_lifts_drawdown_rebases_peak_and_is_consumed_once(store: RiskStateStore) -> None:
    manager = _manager()
    sync = RiskStateSync(store, manager)
    sync.restore(T0)
    manager.update_equity(1000.0, T0)
    manager.update_equity(900.0, T0)
    sync.save_if_changed(T0)
    assert manager.breaker.halts()[0].key == HALT_DRAWDOWN
    assert sync.apply_reset(T0, 900.0) is None  # nothing requested

    store.request_reset("looked at it", T0)
    assert sync.apply_reset(T0 + timedelta(minutes=1), 900.0) is not None
    assert not manager.breaker.halts() and manager.equity_peak == 900.0
    assert sync.apply_reset(T0 + timedelta(minutes=2), 900.0) is None
    restarted = _manager()
    RiskStateSync(store, restarted).restore(T0 + timedelta(minutes=3))
    assert restarted.equity_peak == 900.0 and not restarted.breaker.halts()


def test_reset_below_the_floor_re_trips_the_floor(store: RiskStateStore) -> None:
    manager = _manager()
    sync = RiskStateSync(store, manager)
    sync.restore(T0)
    manager.update_equity(90.0, T0)
    store.request_reset("deposit pending", T0)
    said: list[str] = []
    sync._announce = said.append
    sync.apply_reset(T0, 90.0)
    assert [h.key for h in manager.breaker.halts()] == [HALT_BALANCE_FLOOR]
    assert "still HALTED" in said[0]


def test_unreachable_database_halts_and_recovers_without_raising(tmp_path: Path) -> None:
    target = tmp_path / "gone" / "trades.sqlite"  # the folder does not exist yet
    store = RiskStateStore.from_url(f"sqlite:///{target}")
    manager = _manager()
    sync = RiskStateSync(store, manager)
    sync.restore(T0)
    assert [h.key for h in manager.breaker.halts()] == [HALT_STATE_UNREADABLE]
    assert not sync.save_if_changed(T0)
    assert sync.apply_reset(T0, 1000.0) is None
    target.parent.mkdir()
    assert not sync.save_if_changed(T0 + timedelta(minutes=1))  # restores on this loop
    assert not manager.breaker.halts()
    manager.update_equity(1000.0, T0 + timedelta(minutes=2))
    assert sync.save_if_changed(T0 + timedelta(minutes=2))
    store.dispose()


_equities = st.lists(
    st.one_of(
        st.floats(min_value=0.0, max_value=5000.0, allow_nan=False),
        st.just(float("nan")),
        st.just("reset"),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_equities)
def test_a_restart_after_any_history_restores_what_the_live_bot_had(steps: list[object]) -> None:
    """Whatever happened, a bot restarted from the store has the live bot's peak and halts."""
    store = RiskStateStore.from_url("sqlite://")
    live = _manager()
    sync = RiskStateSync(store, live)
    sync.restore(T0)
    now = T0
    for step in steps:
        now += timedelta(minutes=15)
        equity = 1000.0 if step == "reset" else step
        if step == "reset":
            store.request_reset("property test", now)
        sync.apply_reset(now, equity)
        live.update_equity(equity, now)
        sync.save_if_changed(now)
    restarted = _manager()
    RiskStateSync(store, restarted).restore(now)
    assert restarted.equity_peak == live.equity_peak
    keyed = [(h.key, h.since, h.until) for h in live.breaker.halts()]
    assert [(h.key, h.since, h.until) for h in restarted.breaker.halts()] == keyed
    assert store.pending_reset() is None
    store.dispose()


def test_reset_key_and_state_key_are_separate_rows(store: RiskStateStore) -> None:
    store.save_state(RiskState(1.0))
    store.request_reset("x", T0)
    assert set(store.rows()) == {STATE_KEY, RESET_KEY}
