"""RiskManager: the entry decision's sizing steps and every hard limit tripping and clearing.

The property tests over all caps are in test_risk_decision.py.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tribar.risk.circuit_breaker import BreakerState
from tribar.risk.decision import EntryDecision, EntryRequest
from tribar.risk.limits import RiskLimits, SizingParams
from tribar.risk.manager import HALT_DAILY_LOSS, RiskManager

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def manager(**overrides: Any) -> RiskManager:
    return RiskManager(RiskLimits(**overrides))


def request(**kwargs: Any) -> EntryRequest:
    """Sensible defaults: no fee and k_tp = k_sl, so the payoff ratio b is exactly k_tp; half
    Kelly of p=0.55, b=1 is 5 % of 1000 = 50."""
    args: dict[str, Any] = {
        "pair": "BTC/USDT", "time": NOW, "sizing": "kelly", "price": 100.0,
        "probability": 0.55, "atr": 1.0, "atr_baseline": 1.0, "k_tp": 1.0, "k_sl": 1.0,
        "fee": 0.0, "signal_time": NOW - HOUR, "timeframe": HOUR, "equity": 1000.0,
        "open_exposure": {}, "min_stake": 5.0, "max_stake": 990.0, "proposed_stake": 100.0,
    }  # fmt: skip
    args.update(kwargs)
    return EntryRequest(**args)


def decide(mgr: RiskManager | None = None, **kwargs: Any) -> EntryDecision:
    return (mgr or manager()).decide(request(**kwargs))


def stake(mgr: RiskManager | None = None, **kwargs: Any) -> float:
    return decide(mgr, **kwargs).stake


def check(
    mgr: RiskManager, pair: str, now: datetime, recent: list[Any], **kwargs: Any
) -> EntryDecision:
    """The gate steps of the decision (halts, blacklist, trades per hour) for an entry that
    would otherwise be sized normally."""
    return mgr.decide(
        request(pair=pair, time=now, signal_time=now - HOUR, recent_entry_times=recent, **kwargs)
    )


# Sizing steps --------------------------------------------------------------------------------


def test_stake_is_kelly_times_volatility_times_equity() -> None:
    assert stake() == pytest.approx(50.0)
    assert stake(atr=2.0) == pytest.approx(25.0)  # twice as wild -> half
    assert stake(atr=0.8) == pytest.approx(62.5)


def test_volatility_boost_cannot_pass_max_position_pct() -> None:
    # Kelly 5 % x scale 2 = 10 % = the cap; scale 2 on top of a larger Kelly stays at 10 %.
    assert stake(atr_baseline=100.0) == pytest.approx(100.0)
    capped = decide(probability=0.9, k_tp=2.0, atr_baseline=100.0)
    assert capped.stake == pytest.approx(100.0)
    assert capped.binding == "max_position_pct" and capped.resized


def test_max_position_pct_is_applied_once_after_the_volatility_scale() -> None:
    # Half Kelly of p=0.9, b=2 is 0.425; scale 0.2 gives 0.085 < 10 %: the cap must not have
    # clipped Kelly before the scale (that would give 0.1 x 0.2 = 2 %).
    decision = decide(probability=0.9, k_tp=2.0, atr=5.0)
    assert decision.kelly_fraction == pytest.approx(0.425)
    assert decision.stake == pytest.approx(85.0) and decision.binding is None


def test_decision_explains_itself() -> None:
    decision = decide(atr=2.0)
    assert decision.allowed and decision.code == "ok" and not decision.resized
    assert decision.kelly_fraction == pytest.approx(0.05)
    assert decision.volatility_scale == pytest.approx(0.5)
    assert decision.payoff_ratio == pytest.approx(1.0)
    assert "kelly 0.0500 x vol 0.500" in decision.reason


def test_no_edge_refuses_never_a_minimum_bet() -> None:
    decision = decide(probability=0.5)
    assert decision.refused and decision.stake == 0.0
    assert decision.code == "kelly_edge" and "no positive edge" in decision.reason


def test_payoff_ratio_comes_from_the_barriers_and_closed_trades() -> None:
    # Fee-free barriers 2:1, and closed trades with a realised ratio 3 at k = 20 and
    # n_eff = 20: b = sqrt(2 x 3).
    decision = decide(k_tp=2.0, closed_profit_ratios=[0.03] * 20 + [-0.01] * 20)
    assert decision.payoff_ratio == pytest.approx(math.sqrt(6.0))


def test_fees_that_eat_the_win_refuse_at_the_payoff_step() -> None:
    decision = decide(fee=0.01)  # 1 % move both ways, 1 % fee per side: no net win
    assert decision.refused and decision.code == "payoff_ratio"


def test_missing_baseline_refuses_naming_it() -> None:
    decision = decide(atr_baseline=math.nan)
    assert decision.refused and decision.code == "inputs" and "atr_baseline=nan" in decision.reason


def test_stale_or_future_signal_refuses() -> None:
    assert decide(signal_time=NOW - 2 * HOUR).code == "signal_age"
    assert decide(signal_time=NOW).code == "signal_age"  # has not closed yet
    assert decide(signal_time=None).code == "signal_age"
    # Live calls come a little after the candle closed.
    assert decide(time=NOW + 5 * MINUTE).allowed


def test_position_value_cap_trips_and_clears() -> None:
    mgr = manager(max_position_value_usd=30.0)
    assert stake(mgr) == pytest.approx(30.0)
    # A position already open on the pair uses up part of the cap ...
    assert stake(mgr, open_exposure={"BTC/USDT": 25.0}) == pytest.approx(5.0)
    assert stake(mgr, open_exposure={"BTC/USDT": 26.0}) == 0.0  # 4 left < min stake 5
    assert stake(mgr, open_exposure={"BTC/USDT": 20.0}) == pytest.approx(10.0)
    full = decide(mgr, open_exposure={"BTC/USDT": 30.0})
    assert full.refused and full.code == "max_position_value_usd"
    # ... positions on other pairs do not.
    assert stake(mgr, open_exposure={"ETH/USDT": 30.0}) == pytest.approx(30.0)


def test_total_exposure_shrinks_then_refuses_then_recovers() -> None:
    mgr = manager(max_total_exposure_usd=200.0)
    assert stake(mgr, open_exposure={"ETH/USDT": 100.0}) == pytest.approx(50.0)
    shrunk = decide(mgr, open_exposure={"ETH/USDT": 100.0, "SOL/USDT": 80.0})
    assert shrunk.stake == pytest.approx(20.0) and shrunk.binding == "max_total_exposure_usd"
    decision = decide(mgr, open_exposure={"ETH/USDT": 200.0})
    assert decision.refused and decision.code == "max_total_exposure_usd"
    # Trades closed: room again.
    assert stake(mgr, open_exposure={}) == pytest.approx(50.0)


def test_freqtrade_max_stake_clamps() -> None:
    decision = decide(max_stake=20.0)
    assert decision.stake == pytest.approx(20.0) and decision.binding == "max_stake"


def test_below_exchange_minimum_is_refused_not_rounded_up() -> None:
    mgr = manager()
    decision = decide(mgr, min_stake=60.0)
    assert decision.refused and decision.code == "min_stake"
    assert "below exchange minimum" in decision.reason
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
        {"open_exposure": {"ETH/USDT": math.nan}},
        {"open_exposure": {"ETH/USDT": -10.0}},
        {"open_exposure": None},
        {"max_stake": 0.0},
        {"max_stake": math.inf},
        {"min_stake": math.nan},
        {"leverage": 0.5},
        {"leverage": math.nan},
        {"probability": 1.5},
        {"probability": math.nan},
        {"price": math.inf},
        {"atr": 0.0},
        {"recent_entry_times": ["yesterday"]},
    ],
)
def test_unreadable_inputs_refuse(bad: dict[str, Any]) -> None:
    decision = decide(**bad)
    assert decision.refused and decision.stake == 0.0
    key = next(iter(bad))
    # The reason names the field, so the log says what was wrong.
    if key == "recent_entry_times":
        assert decision.code == "max_trades_per_hour" and "recent entry times" in decision.reason
    else:
        assert decision.code == "inputs" and key in decision.reason


def test_smaller_sizing_settings_are_used() -> None:
    mgr = RiskManager(RiskLimits(sizing=SizingParams(kelly_fraction=0.25, max_position_pct=0.02)))
    decision = decide(mgr)
    assert decision.stake == pytest.approx(20.0)  # quarter Kelly 2.5 % -> capped 2 %
    assert decision.binding == "max_position_pct"


def test_fixed_stakes_take_the_same_caps_but_not_max_position_pct() -> None:
    mgr = manager(max_position_value_usd=150.0)
    assert stake(mgr, sizing="fixed", proposed_stake=120.0) == pytest.approx(120.0)
    capped = decide(mgr, sizing="fixed", proposed_stake=400.0)
    assert capped.stake == pytest.approx(150.0) and capped.binding == "max_position_value_usd"
    # Kelly inputs are not needed for a fixed stake; its gates still apply.
    assert stake(mgr, sizing="fixed", probability=None, atr=None) == pytest.approx(100.0)
    mgr.breaker.trip("stop", NOW)
    assert decide(mgr, sizing="fixed").code == "circuit_breaker"


def test_unknown_sizing_and_bad_requests_refuse_without_raising() -> None:
    assert decide(sizing="martingale").code == "request"  # type: ignore[arg-type]
    assert decide(time="noon").code == "request"
    assert manager().decide("not a request").code == "request"  # type: ignore[arg-type]


def test_listeners_see_every_decision_and_cannot_break_it() -> None:
    mgr = manager()
    seen: list[EntryDecision] = []

    def broken(decision: EntryDecision) -> None:
        raise RuntimeError("monitoring bug")

    mgr.add_decision_listener(broken)
    mgr.add_decision_listener(seen.append)
    assert decide(mgr).allowed and decide(mgr, probability=0.1).refused
    assert [d.code for d in seen] == ["ok", "kelly_edge"]
    mgr.remove_decision_listener(seen.append)
    decide(mgr)
    assert len(seen) == 2


def test_refusals_and_resizes_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="tribar.risk.manager"):
        decide(probability=0.1)
        decide(max_stake=20.0)
        decide()
    messages = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert len(messages) == 2
    assert "entry refused [kelly_edge]" in messages[0]
    assert "stake resized [max_stake]" in messages[1]


def test_request_is_immutable() -> None:
    exposure = {"ETH/USDT": 10.0}
    req = request(open_exposure=exposure)
    exposure["ETH/USDT"] = 1e9  # the caller's dict changing later does not change the request
    assert req.open_exposure["ETH/USDT"] == 10.0
    with pytest.raises(AttributeError):
        req.equity = 5.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        req.open_exposure["ETH/USDT"] = 5.0  # type: ignore[index]


def test_payoff_ratio_uses_configured_prior_strength() -> None:
    mgr = RiskManager(RiskLimits(sizing=SizingParams(payoff_prior_strength=0.0)))
    assert mgr.payoff_ratio(1.2, [0.03, -0.01, 0.03, -0.01]) == pytest.approx(3.0)
    assert manager().payoff_ratio(1.2, []) == 1.2


# Entry gate: halts, blacklist, trades per hour ---------------------------------------------


def test_trades_per_hour_trip_and_clear() -> None:
    mgr = manager(max_trades_per_hour=3)
    entries = [NOW - 50 * MINUTE, NOW - 20 * MINUTE, NOW - 5 * MINUTE]
    assert check(mgr, "BTC/USDT", NOW, entries[:2]).allowed
    refused = check(mgr, "BTC/USDT", NOW, entries)
    assert not refused.allowed
    assert "max_trades_per_hour 3" in refused.reason
    assert (NOW + 10 * MINUTE).isoformat() in refused.reason  # when the oldest ages out
    # One minute before the oldest entry is an hour old: still refused; at that moment: allowed.
    assert not check(mgr, "BTC/USDT", NOW + 9 * MINUTE, entries).allowed
    assert check(mgr, "BTC/USDT", NOW + 10 * MINUTE, entries).allowed


def test_trades_per_hour_counts_naive_freqtrade_dates_and_ignores_old_ones() -> None:
    mgr = manager(max_trades_per_hour=2)
    naive_recent = [(NOW - 10 * MINUTE).replace(tzinfo=None), NOW.replace(tzinfo=None)]
    assert not check(mgr, "BTC/USDT", NOW, naive_recent).allowed
    old = [NOW - 2 * HOUR, NOW - 61 * MINUTE, NOW - 10 * MINUTE]
    assert check(mgr, "BTC/USDT", NOW, old).allowed


def test_blacklist_refuses_matching_pairs_only() -> None:
    mgr = manager(blacklist_symbols=["DOGE/USDT", "BNB/.*"])
    assert not check(mgr, "DOGE/USDT", NOW, []).allowed
    assert not check(mgr, "bnb/btc", NOW, []).allowed  # Freqtrade ignores case too
    assert "blacklist" in check(mgr, "BNB/USDT", NOW, []).reason
    assert check(mgr, "DOGE/BTC", NOW, []).allowed  # whole-name match, like Freqtrade
    assert check(mgr, "ETH/USDT", NOW, []).allowed


def test_default_blacklist_drops_stablecoin_pairs() -> None:
    mgr = manager()
    assert mgr.is_blacklisted("USDC/USDT")
    assert not mgr.is_blacklisted("BTC/USDT")


def test_blacklist_is_not_copied_into_freqtrades() -> None:
    """decide is the one enforcement (docs/risk.md): nothing offers a merged Freqtrade list."""
    mgr = manager(blacklist_symbols=["DOGE/USDT", "BNB/.*"])
    assert not hasattr(mgr, "merged_blacklist")
    assert mgr.is_blacklisted("bnb/usdt") and not mgr.is_blacklisted("XRP/USDT")


def test_halt_refuses_entries_until_cleared() -> None:
    mgr = manager()
    mgr.breaker.trip("operator says stop", NOW)
    refused = check(mgr, "BTC/USDT", NOW, [])
    assert not refused.allowed and "operator says stop" in refused.reason
    mgr.breaker.clear(NOW)
    assert check(mgr, "BTC/USDT", NOW, []).allowed


def test_unreadable_entry_times_refuse() -> None:
    assert not check(manager(), "BTC/USDT", NOW, ["yesterday"]).allowed  # type: ignore[list-item]


# Drawdown and balance floor ----------------------------------------------------------------


def test_drawdown_halt_trips_at_the_limit_and_needs_a_reset() -> None:
    mgr = manager(max_drawdown_pct=15.0, min_account_balance_usd=0.0)
    assert not mgr.update_equity(1000.0, NOW).halted
    assert not mgr.update_equity(1200.0, NOW + HOUR).halted  # new peak
    status = mgr.update_equity(1020.01, NOW + 2 * HOUR)  # 14.999 %
    assert not status.halted and status.drawdown_pct == pytest.approx(14.99917, rel=1e-4)
    status = mgr.update_equity(1020.0, NOW + 3 * HOUR)  # 15 % from 1200
    assert status.halted and "max_drawdown_pct 15" in status.reason
    assert not check(mgr, "BTC/USDT", NOW + 3 * HOUR, []).allowed
    # Recovering a little does not lift it, nor does time passing.
    assert mgr.update_equity(1100.0, NOW + 30 * HOUR).halted
    # The operator resets: the peak is re-based, trading resumes.
    status = mgr.reset_halt(NOW + 31 * HOUR, 1100.0)
    assert not status.halted and mgr.equity_peak == 1100.0
    assert check(mgr, "BTC/USDT", NOW + 31 * HOUR, []).allowed


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
    refused = check(mgr, "BTC/USDT", midnight - timedelta(seconds=1), [])
    assert not refused.allowed and "max_daily_loss_usd 50" in refused.reason
    # Next UTC day: realised P&L starts again from zero and the lock has expired.
    assert mgr.daily_loss_lock_until(0.0, midnight) is None
    assert check(mgr, "BTC/USDT", midnight, []).allowed


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
    assert not check(mgr, "BTC/USDT", midnight, []).allowed  # drawdown still holds
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


def test_daily_loss_halt_is_the_only_gate_and_ends_at_midnight() -> None:
    """No Freqtrade lock is involved: decide refuses while the halt holds, on every loop, and
    the first decision after 00:00 UTC goes through."""
    mgr = manager(max_daily_loss_usd=50.0)
    for minute in range(3):  # three bot loops while the limit is hit
        now = NOW + minute * MINUTE
        assert mgr.daily_loss_lock_until(-80.0, now) == datetime(2026, 3, 2, tzinfo=UTC)
        refused = check(mgr, "BTC/USDT", now, [])
        assert refused.code == "circuit_breaker" and "max_daily_loss_usd" in refused.reason
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert check(mgr, "BTC/USDT", late, []).code == "circuit_breaker"
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    assert mgr.daily_loss_lock_until(0.0, midnight) is None
    assert check(mgr, "BTC/USDT", midnight, []).allowed
