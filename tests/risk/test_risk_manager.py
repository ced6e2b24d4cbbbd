"""RiskManager: the sizing pipeline and every hard limit tripping and clearing."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.risk.circuit_breaker import BreakerState
from tribar.risk.limits import RiskLimits, SizingParams
from tribar.risk.manager import HALT_DAILY_LOSS, RiskManager

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def manager(**overrides: Any) -> RiskManager:
    return RiskManager(RiskLimits(**overrides))


def stake(mgr: RiskManager | None = None, **kwargs: Any) -> float:
    """Stake with sensible defaults: half Kelly of p=0.55, b=1 is 5 % of 1000 = 50."""
    args: dict[str, Any] = {
        "pair": "BTC/USDT",
        "p": 0.55,
        "b": 1.0,
        "current_atr": 1.0,
        "baseline_atr": 1.0,
        "equity": 1000.0,
        "open_exposure_usd": {},
        "min_stake": 5.0,
        "max_stake": 990.0,
    }
    args.update(kwargs)
    return (mgr or manager()).stake_for_entry(**args).stake


# Sizing pipeline -----------------------------------------------------------------------------


def test_stake_is_kelly_times_volatility_times_equity() -> None:
    assert stake() == pytest.approx(50.0)
    assert stake(current_atr=2.0) == pytest.approx(25.0)  # twice as wild -> half
    assert stake(current_atr=0.8) == pytest.approx(62.5)


def test_volatility_boost_cannot_pass_max_position_pct() -> None:
    # Kelly 5 % x scale 2 = 10 % = the cap; scale 2 on top of a capped Kelly stays at 10 %.
    assert stake(baseline_atr=100.0) == pytest.approx(100.0)
    assert stake(p=0.9, b=2.0, baseline_atr=100.0) == pytest.approx(100.0)


def test_decision_explains_itself() -> None:
    decision = manager().stake_for_entry("BTC/USDT", 0.55, 1.0, 2.0, 1.0, 1000.0, {}, 5.0, 990.0)
    assert decision.kelly_fraction == pytest.approx(0.05)
    assert decision.volatility_scale == pytest.approx(0.5)
    assert "kelly x volatility" in decision.reason and not decision.skip


def test_no_edge_skips() -> None:
    decision = manager().stake_for_entry("BTC/USDT", 0.5, 1.0, 1.0, 1.0, 1000.0, {}, 5.0, 990.0)
    assert decision.skip and "no positive edge" in decision.reason


def test_missing_baseline_skips() -> None:
    assert stake(baseline_atr=math.nan) == 0.0


def test_position_value_cap_trips_and_clears() -> None:
    mgr = manager(max_position_value_usd=30.0)
    assert stake(mgr) == pytest.approx(30.0)
    # A position already open on the pair uses up part of the cap ...
    assert stake(mgr, open_exposure_usd={"BTC/USDT": 25.0}) == pytest.approx(5.0)
    assert stake(mgr, open_exposure_usd={"BTC/USDT": 26.0}) == 0.0  # 4 left < min stake 5
    assert stake(mgr, open_exposure_usd={"BTC/USDT": 20.0}) == pytest.approx(10.0)
    assert stake(mgr, open_exposure_usd={"BTC/USDT": 30.0}) == 0.0
    # ... positions on other pairs do not.
    assert stake(mgr, open_exposure_usd={"ETH/USDT": 30.0}) == pytest.approx(30.0)


def test_total_exposure_shrinks_then_skips_then_recovers() -> None:
    mgr = manager(max_total_exposure_usd=200.0)
    assert stake(mgr, open_exposure_usd={"ETH/USDT": 100.0}) == pytest.approx(50.0)
    assert stake(mgr, open_exposure_usd={"ETH/USDT": 100.0, "SOL/USDT": 80.0}) == pytest.approx(
        20.0
    )
    decision = mgr.stake_for_entry(
        "BTC/USDT", 0.55, 1.0, 1.0, 1.0, 1000.0, {"ETH/USDT": 200.0}, 5.0, 990.0
    )
    assert decision.skip and "max_total_exposure_usd" in decision.reason
    # Trades closed: room again.
    assert stake(mgr, open_exposure_usd={}) == pytest.approx(50.0)


def test_freqtrade_max_stake_clamps() -> None:
    assert stake(max_stake=20.0) == pytest.approx(20.0)


def test_below_exchange_minimum_is_skipped_not_rounded_up() -> None:
    mgr = manager()
    decision = mgr.stake_for_entry("BTC/USDT", 0.55, 1.0, 1.0, 1.0, 1000.0, {}, 60.0, 990.0)
    assert decision.skip and "below exchange minimum" in decision.reason
    assert stake(mgr, min_stake=50.0) == pytest.approx(50.0)
    assert stake(mgr, min_stake=None) == pytest.approx(50.0)


def test_leverage_sizes_the_margin_for_the_same_notional() -> None:
    assert stake(leverage=2.0) == pytest.approx(25.0)
    mgr = manager(max_position_value_usd=30.0)
    assert stake(mgr, leverage=3.0) == pytest.approx(10.0)  # 30 notional / 3


@pytest.mark.parametrize(
    "bad",
    [
        {"equity": math.nan},
        {"equity": -5.0},
        {"equity": None},
        {"open_exposure_usd": {"ETH/USDT": math.nan}},
        {"open_exposure_usd": {"ETH/USDT": -10.0}},
        {"open_exposure_usd": None},
        {"max_stake": 0.0},
        {"max_stake": math.inf},
        {"min_stake": math.nan},
        {"leverage": 0.5},
        {"leverage": math.nan},
        {"p": 1.5},
        {"b": -1.0},
        {"current_atr": 0.0},
    ],
)
def test_unreadable_inputs_skip(bad: dict[str, Any]) -> None:
    assert stake(**bad) == 0.0


def test_smaller_sizing_settings_are_used() -> None:
    mgr = RiskManager(RiskLimits(sizing=SizingParams(kelly_fraction=0.25, max_position_pct=0.02)))
    assert stake(mgr) == pytest.approx(20.0)  # quarter Kelly 2.5 % -> capped 2 %


numbers = st.floats(allow_nan=True, allow_infinity=True)
exposures = st.dictionaries(
    st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]), st.floats(0.0, 600.0), max_size=3
)


@given(
    p=numbers,
    b=numbers,
    current=numbers,
    baseline=numbers,
    equity=st.one_of(numbers, st.floats(1.0, 1e7)),
    exposure=exposures,
    min_stake=st.one_of(st.none(), numbers, st.floats(0.0, 50.0)),
    max_stake=st.one_of(numbers, st.floats(1.0, 1e6)),
    leverage=st.one_of(numbers, st.floats(1.0, 20.0)),
)
def test_stake_never_breaks_a_cap(
    p: float,
    b: float,
    current: float,
    baseline: float,
    equity: float,
    exposure: dict[str, float],
    min_stake: float | None,
    max_stake: float,
    leverage: float,
) -> None:
    limits = RiskLimits()
    decision = RiskManager(limits).stake_for_entry(
        "BTC/USDT", p, b, current, baseline, equity, exposure, min_stake, max_stake,
        leverage=leverage,
    )  # fmt: skip
    value = decision.stake
    assert math.isfinite(value) and value >= 0.0
    if value == 0.0:
        return
    tolerance = 1e-9 * max(1.0, value * leverage)
    notional = value * leverage
    assert value <= max_stake
    assert min_stake is None or value >= min_stake
    assert notional <= limits.sizing.max_position_pct * equity + tolerance
    assert notional <= limits.max_position_value_usd - exposure.get("BTC/USDT", 0.0) + tolerance
    assert notional <= limits.max_total_exposure_usd - sum(exposure.values()) + tolerance


@given(
    p1=st.floats(0.0, 1.0),
    p2=st.floats(0.0, 1.0),
    b=st.floats(0.01, 100.0),
    current=st.floats(0.01, 100.0),
    baseline=st.floats(0.01, 100.0),
    exposure=exposures,
)
def test_stake_is_monotone_in_p(
    p1: float, p2: float, b: float, current: float, baseline: float, exposure: dict[str, float]
) -> None:
    low, high = sorted((p1, p2))
    mgr = manager()
    s_low = mgr.stake_for_entry("BTC/USDT", low, b, current, baseline, 1000.0, exposure, 0, 990)
    s_high = mgr.stake_for_entry("BTC/USDT", high, b, current, baseline, 1000.0, exposure, 0, 990)
    assert s_low.stake <= s_high.stake


def test_payoff_ratio_uses_configured_prior_strength() -> None:
    mgr = RiskManager(RiskLimits(sizing=SizingParams(payoff_prior_strength=0.0)))
    assert mgr.payoff_ratio(1.2, [0.03, -0.01, 0.03, -0.01]) == pytest.approx(3.0)
    assert manager().payoff_ratio(1.2, []) == 1.2


# Entry gate: halts, blacklist, trades per hour ---------------------------------------------


def test_trades_per_hour_trip_and_clear() -> None:
    mgr = manager(max_trades_per_hour=3)
    entries = [NOW - 50 * MINUTE, NOW - 20 * MINUTE, NOW - 5 * MINUTE]
    assert mgr.check_entry("BTC/USDT", NOW, entries[:2]).allowed
    refused = mgr.check_entry("BTC/USDT", NOW, entries)
    assert not refused.allowed
    assert "max_trades_per_hour 3" in refused.reason
    assert (NOW + 10 * MINUTE).isoformat() in refused.reason  # when the oldest ages out
    # One minute before the oldest entry is an hour old: still refused; at that moment: allowed.
    assert not mgr.check_entry("BTC/USDT", NOW + 9 * MINUTE, entries).allowed
    assert mgr.check_entry("BTC/USDT", NOW + 10 * MINUTE, entries).allowed


def test_trades_per_hour_counts_naive_freqtrade_dates_and_ignores_old_ones() -> None:
    mgr = manager(max_trades_per_hour=2)
    naive_recent = [(NOW - 10 * MINUTE).replace(tzinfo=None), NOW.replace(tzinfo=None)]
    assert not mgr.check_entry("BTC/USDT", NOW, naive_recent).allowed
    old = [NOW - 2 * HOUR, NOW - 61 * MINUTE, NOW - 10 * MINUTE]
    assert mgr.check_entry("BTC/USDT", NOW, old).allowed


def test_blacklist_refuses_matching_pairs_only() -> None:
    mgr = manager(blacklist_symbols=["DOGE/USDT", "BNB/.*"])
    assert not mgr.check_entry("DOGE/USDT", NOW, []).allowed
    assert not mgr.check_entry("bnb/btc", NOW, []).allowed  # Freqtrade ignores case too
    assert "blacklist" in mgr.check_entry("BNB/USDT", NOW, []).reason
    assert mgr.check_entry("DOGE/BTC", NOW, []).allowed  # whole-name match, like Freqtrade
    assert mgr.check_entry("ETH/USDT", NOW, []).allowed


def test_default_blacklist_drops_stablecoin_pairs() -> None:
    mgr = manager()
    assert mgr.is_blacklisted("USDC/USDT")
    assert not mgr.is_blacklisted("BTC/USDT")


def test_blacklist_is_merged_into_freqtrades() -> None:
    mgr = manager(blacklist_symbols=["DOGE/USDT", "BNB/.*"])
    assert mgr.merged_blacklist(["BNB/.*", "XRP/USDT"]) == ["BNB/.*", "XRP/USDT", "DOGE/USDT"]
    assert mgr.merged_blacklist(None) == ["DOGE/USDT", "BNB/.*"]


def test_halt_refuses_entries_until_cleared() -> None:
    mgr = manager()
    mgr.breaker.trip("operator says stop", NOW)
    refused = mgr.check_entry("BTC/USDT", NOW, [])
    assert not refused.allowed and "operator says stop" in refused.reason
    mgr.breaker.clear(NOW)
    assert mgr.check_entry("BTC/USDT", NOW, []).allowed


def test_unreadable_entry_times_refuse() -> None:
    assert not manager().check_entry("BTC/USDT", NOW, ["yesterday"]).allowed  # type: ignore[list-item]


# Drawdown and balance floor ----------------------------------------------------------------


def test_drawdown_halt_trips_at_the_limit_and_needs_a_reset() -> None:
    mgr = manager(max_drawdown_pct=15.0, min_account_balance_usd=0.0)
    assert not mgr.update_equity(1000.0, NOW).halted
    assert not mgr.update_equity(1200.0, NOW + HOUR).halted  # new peak
    status = mgr.update_equity(1020.01, NOW + 2 * HOUR)  # 14.999 %
    assert not status.halted and status.drawdown_pct == pytest.approx(14.99917, rel=1e-4)
    status = mgr.update_equity(1020.0, NOW + 3 * HOUR)  # 15 % from 1200
    assert status.halted and "max_drawdown_pct 15" in status.reason
    assert not mgr.check_entry("BTC/USDT", NOW + 3 * HOUR, []).allowed
    # Recovering a little does not lift it, nor does time passing.
    assert mgr.update_equity(1100.0, NOW + 30 * HOUR).halted
    # The operator resets: the peak is re-based, trading resumes.
    status = mgr.reset_halt(NOW + 31 * HOUR, 1100.0)
    assert not status.halted and mgr.equity_peak == 1100.0
    assert mgr.check_entry("BTC/USDT", NOW + 31 * HOUR, []).allowed


def test_balance_floor_trips_below_and_clears_only_above() -> None:
    mgr = manager(min_account_balance_usd=800.0, max_drawdown_pct=100.0)
    assert not mgr.update_equity(800.0, NOW).halted  # at the floor is fine
    status = mgr.update_equity(799.99, NOW + MINUTE)
    assert status.halted and "min_account_balance_usd 800" in status.reason
    # Resetting while still below: re-trips at once.
    assert mgr.reset_halt(NOW + HOUR, 790.0).halted
    # After a deposit: clears.
    assert not mgr.reset_halt(NOW + 2 * HOUR, 900.0).halted
    assert mgr.breaker.state is BreakerState.ACTIVE


def test_restored_peak_survives_a_restart() -> None:
    mgr = RiskManager(RiskLimits(min_account_balance_usd=0.0), equity_peak=1000.0)
    assert mgr.update_equity(840.0, NOW).halted  # 16 % below the restored peak


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "1000"])
def test_unreadable_equity_is_not_evaluated(bad: object) -> None:
    mgr = manager()
    mgr.update_equity(1000.0, NOW)
    status = mgr.update_equity(bad, NOW + MINUTE)
    assert status.equity is None and not status.halted and mgr.equity_peak == 1000.0


# Daily loss --------------------------------------------------------------------------------


def test_daily_loss_locks_until_next_utc_midnight_and_clears() -> None:
    mgr = manager(max_daily_loss_usd=50.0)
    assert mgr.daily_loss_lock_until(-49.99, NOW) is None
    assert mgr.daily_loss_lock_until(+500.0, NOW) is None
    until = mgr.daily_loss_lock_until(-50.0, NOW)
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    assert until == midnight
    assert [h.key for h in mgr.breaker.halts()] == [HALT_DAILY_LOSS]
    refused = mgr.check_entry("BTC/USDT", midnight - timedelta(seconds=1), [])
    assert not refused.allowed and "max_daily_loss_usd 50" in refused.reason
    # Next UTC day: realised P&L starts again from zero and the lock has expired.
    assert mgr.daily_loss_lock_until(0.0, midnight) is None
    assert mgr.check_entry("BTC/USDT", midnight, []).allowed


def test_daily_loss_just_before_midnight_ends_at_that_midnight() -> None:
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert manager().daily_loss_lock_until(-100.0, late) == datetime(2026, 3, 2, tzinfo=UTC)


def test_daily_loss_with_non_utc_clock() -> None:
    from zoneinfo import ZoneInfo

    # 01:00 in Berlin on 2 March is 00:00 UTC on 2 March: the lock runs to 3 March UTC.
    berlin = datetime(2026, 3, 2, 1, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert manager().daily_loss_lock_until(-100.0, berlin) == datetime(2026, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize("bad", [math.nan, None, "x"])
def test_unreadable_daily_pnl_locks(bad: object) -> None:
    mgr = manager()
    assert mgr.daily_loss_lock_until(bad, NOW) == datetime(2026, 3, 2, tzinfo=UTC)
    assert "unreadable" in (mgr.breaker.reason or "")


def test_daily_loss_and_drawdown_halts_are_independent() -> None:
    mgr = manager(min_account_balance_usd=0.0)
    mgr.update_equity(1000.0, NOW)
    mgr.daily_loss_lock_until(-60.0, NOW)
    mgr.update_equity(800.0, NOW)  # 20 % drawdown
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    assert not mgr.check_entry("BTC/USDT", midnight, []).allowed  # drawdown still holds
    assert [h.key for h in mgr.breaker.halts()] == ["drawdown"]


# Leverage ----------------------------------------------------------------------------------


def test_spot_is_always_unleveraged() -> None:
    from freqtrade.enums import TradingMode

    mgr = manager(max_leverage=5.0)
    assert mgr.leverage("BTC/USDT", 3.0, 20.0, "spot") == 1.0
    assert mgr.leverage("BTC/USDT", 3.0, 20.0, TradingMode.SPOT) == 1.0


def test_futures_leverage_is_capped_by_limit_and_exchange() -> None:
    from freqtrade.enums import TradingMode

    mgr = manager(max_leverage=3.0)
    assert mgr.leverage("BTC/USDT:USDT", 2.0, 20.0, TradingMode.FUTURES) == 2.0
    assert mgr.leverage("BTC/USDT:USDT", 10.0, 20.0, "futures") == 3.0  # limit trips
    assert mgr.leverage("BTC/USDT:USDT", 10.0, 2.5, "futures") == 2.5  # exchange is lower
    assert mgr.leverage("BTC/USDT:USDT", 1.0, 20.0, "futures") == 1.0  # back under: as asked


@pytest.mark.parametrize(
    ("proposed", "exchange"), [(math.nan, 10.0), (5.0, None), (0.2, 10.0), (5.0, -1.0)]
)
def test_unreadable_leverage_falls_back_to_one(proposed: object, exchange: object) -> None:
    assert manager(max_leverage=5.0).leverage("X/USDT:USDT", proposed, exchange, "futures") == 1.0


# Monitoring --------------------------------------------------------------------------------


def test_breaker_messages_reach_a_send_msg_listener() -> None:
    mgr = manager()
    sent: list[str] = []
    mgr.breaker.add_listener(lambda event: sent.append(event.message()))
    mgr.update_equity(1000.0, NOW)
    mgr.update_equity(700.0, NOW)
    mgr.update_equity(690.0, NOW + MINUTE)  # re-trips silently
    assert len(sent) == 2  # drawdown tripped, floor added
    assert sent[0].startswith("Risk circuit breaker HALTED: drawdown")
    assert "also halted: equity 700.00 below min_account_balance_usd" in sent[1]


def test_status_is_json_serialisable() -> None:
    mgr = manager()
    mgr.update_equity(1000.0, NOW)
    status = json.loads(json.dumps(mgr.status()))
    assert status["state"] == "active" and status["equity_peak"] == 1000.0
    assert status["limits"]["max_trades_per_hour"] == 6


def test_recommended_freqtrade_lock_ends_at_midnight_and_is_not_duplicated() -> None:
    """The wiring the docs recommend, run against Freqtrade's in-memory PairLocks."""
    from freqtrade.persistence import PairLocks

    from tribar.risk.manager import DAILY_LOSS_LOCK_REASON

    saved = (PairLocks.use_db, PairLocks.timeframe, PairLocks.locks)
    PairLocks.use_db, PairLocks.timeframe, PairLocks.locks = False, "1h", []
    try:
        mgr = manager(max_daily_loss_usd=50.0)
        for minute in range(3):  # three bot loops while the limit is hit
            now = NOW + minute * MINUTE
            until = mgr.daily_loss_lock_until(-80.0, now)
            assert until is not None
            PairLocks.lock_pair("*", until - timedelta(seconds=1), DAILY_LOSS_LOCK_REASON, now=now)
        assert len(PairLocks.locks) == 1
        assert PairLocks.locks[0].lock_end_time_utc == datetime(2026, 3, 2, tzinfo=UTC)
        assert PairLocks.is_global_lock(NOW + 11 * HOUR)
        assert not PairLocks.is_global_lock(datetime(2026, 3, 2, tzinfo=UTC))
    finally:
        PairLocks.use_db, PairLocks.timeframe, PairLocks.locks = saved
