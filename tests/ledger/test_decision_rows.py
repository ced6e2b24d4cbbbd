"""Rows of the ledger's entry_decisions table from real RiskManager decisions, and the no-flood
rule: one row per (bot, pair, side, signal candle, outcome)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tribar.analysis.ledger.decision_rows import (
    DecisionDeduper,
    build_decision_row,
    decision_row_from_json,
    decision_row_to_json,
)
from tribar.analysis.ledger.schema import DECISION_COLUMNS
from tribar.analysis.ledger.trade_rows import RowContext
from tribar.risk import EntryRequest, RiskLimits, RiskManager

NOW = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)
CTX = RowContext(
    source="dry_run", dry_run=True, bot_name="bot-a", exchange="binance",
    strategy="TripleBarrierML", strategy_version="1.0.0", config_hash="abc",
)  # fmt: skip


def manager(**limits: object) -> RiskManager:
    return RiskManager(RiskLimits(**{"blacklist_symbols": ["DOGE/.*"], **limits}))  # type: ignore[arg-type]


def kelly(pair: str = "BTC/USDT", *, time: datetime = NOW, signal: datetime | None = None,
          probability: float = 0.6, equity: float = 1000.0, max_stake: float = 900.0,
          **extra: object) -> EntryRequest:  # fmt: skip
    return EntryRequest(
        pair=pair, time=time, sizing="kelly", price=100.0, probability=probability, atr=2.0,
        atr_baseline=2.0, k_tp=3.0, k_sl=1.5, fee=0.001,
        signal_time=signal if signal is not None else NOW.replace(minute=0, second=0) - HOUR,
        timeframe=HOUR, equity=equity, proposed_stake=50.0, min_stake=5.0, max_stake=max_stake,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_refusal_row_carries_the_request_and_the_reason() -> None:
    decision = manager().decide(kelly("DOGE/USDT"))
    assert decision.refused and decision.code == "blacklist_symbols"
    row = build_decision_row(decision, CTX)
    assert row is not None and set(row) == set(DECISION_COLUMNS)
    assert row["symbol"] == "DOGE/USDT" and row["side"] == "long"
    assert row["allowed"] is False and row["code"] == "blacklist_symbols"
    assert row["reason"] == "DOGE/USDT matches blacklist_symbols"
    assert row["stake"] == Decimal(0) and row["proposed_stake"] == Decimal("50.0")
    assert row["probability"] == pytest.approx(0.6) and row["sizing"] == "kelly"
    assert row["decided_at"] == NOW
    assert row["signal_time"] == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert (row["bot_name"], row["strategy_version"], row["config_hash"]) == ("bot-a", "1.0.0",
                                                                              "abc")  # fmt: skip
    assert row["dry_run"] is True and row["source"] == "dry_run"
    assert row["max_stake"] == Decimal("900.0") and row["equity"] == Decimal("1000.0")


def test_a_resized_stake_is_recorded_with_its_cap_and_a_full_size_entry_is_not() -> None:
    mgr = manager()
    resized = mgr.decide(kelly(max_stake=10.0))
    assert resized.allowed and resized.binding == "max_stake"
    row = build_decision_row(resized, CTX)
    assert row is not None and row["allowed"] is True and row["code"] == "max_stake"
    assert row["stake"] == Decimal("10.0")
    assert (
        row["kelly_fraction"] == pytest.approx(resized.kelly_fraction) and row["kelly_fraction"] > 0
    )
    full = mgr.decide(kelly(probability=0.4))  # a small edge: Kelly x vol stays under every cap
    assert full.allowed and full.binding is None
    assert build_decision_row(full, CTX) is None


def test_bad_inputs_become_nulls_not_errors() -> None:
    decision = manager().decide(kelly(probability=float("nan"), equity=float("inf")))
    assert decision.code == "inputs"
    row = build_decision_row(decision, CTX)
    assert row is not None and row["probability"] is None and row["equity"] is None
    # Strict JSON round trip (the outbox payload): no NaN can get in.
    assert decision_row_from_json(decision_row_to_json(row)) == row
    # A decision without its request (decide's own crash path) still makes a row.
    bare = manager().decide("not a request")  # type: ignore[arg-type]
    bare_row = build_decision_row(bare, CTX)
    assert bare_row is not None and bare_row["code"] == "request"
    assert bare_row["signal_time"] is None and bare_row["symbol"] == "?"


def test_one_key_per_pair_signal_candle_and_outcome() -> None:
    mgr = manager()
    # The same refusal on every bot loop of one candle: one key.
    loops = [mgr.decide(kelly("DOGE/USDT", time=NOW + timedelta(seconds=5 * i)))
             for i in range(50)]  # fmt: skip
    keys = {build_decision_row(d, CTX)["decision_key"] for d in loops}  # type: ignore[index]
    assert len(keys) == 1
    (key,) = keys
    assert len(key) == 64
    # A new signal candle, another pair, another bot, or another reason: a new key.
    this_candle = NOW.replace(minute=0, second=0)
    next_candle = mgr.decide(kelly("DOGE/USDT", time=NOW + HOUR, signal=this_candle))
    other_pair = mgr.decide(kelly("DOGE/BTC"))
    other_reason = mgr.decide(kelly(max_stake=1.0))  # min_stake refuses BTC/USDT
    assert other_reason.code == "min_stake"
    other_bot = RowContext(source="dry_run", dry_run=True, bot_name="bot-b", exchange="binance",
                           strategy="TripleBarrierML")  # fmt: skip
    others = [
        build_decision_row(next_candle, CTX)["decision_key"],  # type: ignore[index]
        build_decision_row(other_pair, CTX)["decision_key"],  # type: ignore[index]
        build_decision_row(other_reason, CTX)["decision_key"],  # type: ignore[index]
        build_decision_row(loops[0], other_bot)["decision_key"],  # type: ignore[index]
    ]
    assert len({key, *others}) == 5
    # The config hash and version do not split a candle's rows (a /reload_config mid-candle).
    reloaded = replace(CTX, config_hash="other", strategy_version="2")
    assert build_decision_row(loops[0], reloaded)["decision_key"] == key  # type: ignore[index]


def test_without_a_signal_candle_the_hour_of_the_decision_is_the_candle() -> None:
    mgr = manager()
    fixed = [EntryRequest(pair="DOGE/USDT", time=NOW + timedelta(minutes=m), sizing="fixed",
                          equity=1000.0, proposed_stake=50.0, max_stake=900.0)
             for m in (0, 30, 59, 60)]  # fmt: skip
    keys = [build_decision_row(mgr.decide(r), CTX)["decision_key"] for r in fixed]  # type: ignore[index]
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_deduper_says_first_once_per_key_and_stays_bounded() -> None:
    dedup = DecisionDeduper(capacity=3)
    assert [dedup.first(k) for k in "aab"] == [True, False, True]
    for k in "cde":  # pushes a and b out
        assert dedup.first(k)
    assert dedup.first("a")  # forgotten: the database's unique key is the backstop
    assert not dedup.first("e")
    dedup.forget("e")
    assert dedup.first("e")
    with pytest.raises(ValueError, match="capacity"):
        DecisionDeduper(capacity=0)


def test_a_decision_with_its_request_pickles() -> None:
    """The strategy keeps its decisions, and hyperopt pickles the strategy to its workers."""
    import pickle

    decision = manager().decide(kelly(open_exposure={"ETH/USDT": 20.0}))
    assert decision.request is not None
    copy = pickle.loads(pickle.dumps(decision))
    assert copy == decision and copy.request == decision.request
    assert dict(copy.request.open_exposure) == {"ETH/USDT": 20.0}
    with pytest.raises(TypeError):  # still read-only after the round trip
        copy.request.open_exposure["BTC/USDT"] = 1.0  # type: ignore[index]
