"""Properties of RiskManager.decide over all its caps, and its order against docs/risk.md."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st

from tribar.risk import (
    CAP_STEPS,
    DECISION_ORDER,
    EntryDecision,
    EntryRequest,
    RiskLimits,
    RiskManager,
    SizingParams,
)
from tribar.risk.kelly import payoff_ratio_from_barriers

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "risk.md"
LIMITS = RiskLimits(
    max_position_value_usd=150.0, max_total_exposure_usd=400.0, max_trades_per_hour=3,
    blacklist_symbols=["DOGE/.*"], sizing=SizingParams(max_position_pct=0.1),
)  # fmt: skip
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

# Valid requests over ranges where every cap binds for some of them.
valid_kelly = st.fixed_dictionaries(
    {
        "pair": st.sampled_from(PAIRS),
        "price": st.floats(1.0, 1000.0),
        "probability": st.floats(0.0, 1.0),
        "atr_pct": st.floats(0.001, 0.1),
        "baseline_ratio": st.floats(0.1, 5.0),
        "k_tp": st.floats(0.5, 6.0),
        "k_sl": st.floats(0.5, 4.0),
        "fee": st.sampled_from([0.0, 0.001, 0.002]),
        "equity": st.floats(100.0, 5000.0),
        "open_exposure": st.dictionaries(st.sampled_from(PAIRS), st.floats(0.0, 300.0)),
        "closed": st.lists(st.floats(-0.05, 0.05), max_size=30),
        "min_stake": st.one_of(st.none(), st.floats(0.0, 30.0)),
        "max_stake": st.floats(1.0, 500.0),
        "leverage": st.sampled_from([1.0, 1.0, 2.0, 3.0]),
    }
)


def kelly_request(d: dict[str, Any]) -> EntryRequest:
    atr = d["price"] * d["atr_pct"]
    return EntryRequest(
        pair=d["pair"], time=NOW, sizing="kelly", price=d["price"], probability=d["probability"],
        atr=atr, atr_baseline=atr * d["baseline_ratio"], k_tp=d["k_tp"], k_sl=d["k_sl"],
        fee=d["fee"], signal_time=NOW - HOUR, timeframe=HOUR, equity=d["equity"],
        open_exposure=d["open_exposure"], closed_profit_ratios=d["closed"],
        min_stake=d["min_stake"], max_stake=d["max_stake"], leverage=d["leverage"],
    )  # fmt: skip


def assert_within_every_cap(request: EntryRequest, decision: EntryDecision) -> None:
    stake = decision.stake
    assert math.isfinite(stake) and stake >= 0.0
    assert (stake > 0.0) == decision.allowed
    if not decision.allowed:
        assert decision.code in DECISION_ORDER and decision.binding is None
        return
    assert decision.binding is None or decision.binding in CAP_STEPS
    lev = float(request.leverage)
    notional = stake * lev
    exposure = dict(request.open_exposure)
    tol = 1e-9 * max(1.0, notional)
    assert stake <= float(request.max_stake) + tol
    assert request.min_stake is None or stake >= float(request.min_stake) - tol
    assert notional <= LIMITS.max_position_value_usd - exposure.get(request.pair, 0.0) + tol
    assert notional <= LIMITS.max_total_exposure_usd - sum(exposure.values()) + tol
    if request.sizing == "kelly":
        equity = float(request.equity)  # type: ignore[arg-type]
        assert notional <= LIMITS.sizing.max_position_pct * equity + tol
        # Never more than Kelly x volatility asked for (caps only shrink).
        wanted = decision.kelly_fraction * decision.volatility_scale * equity
        assert notional <= wanted + tol
        assert decision.kelly_fraction > 0.0 and decision.payoff_ratio > 0.0
    else:
        assert notional <= float(request.proposed_stake) * lev + tol  # type: ignore[arg-type]


@given(d=valid_kelly)
def test_kelly_stake_never_exceeds_any_cap(d: dict[str, Any]) -> None:
    request = kelly_request(d)
    assert_within_every_cap(request, RiskManager(LIMITS).decide(request))


@given(
    d=valid_kelly,
    stake=st.floats(0.01, 1000.0),
)
def test_fixed_stake_never_exceeds_any_cap(d: dict[str, Any], stake: float) -> None:
    request = EntryRequest(
        pair=d["pair"], time=NOW, sizing="fixed", proposed_stake=stake, equity=d["equity"],
        open_exposure=d["open_exposure"], min_stake=d["min_stake"], max_stake=d["max_stake"],
        leverage=d["leverage"],
    )  # fmt: skip
    assert_within_every_cap(request, RiskManager(LIMITS).decide(request))


NUMERIC_FIELDS = (
    "price", "probability", "atr", "atr_baseline", "k_tp", "k_sl", "fee", "equity",
    "max_stake", "min_stake", "leverage",
)  # fmt: skip


@given(
    d=valid_kelly,
    field=st.sampled_from((*NUMERIC_FIELDS, "open_exposure", "closed_profit_ratios")),
    bad=st.sampled_from([math.nan, math.inf, -math.inf]),
)
def test_any_nan_or_inf_input_is_refused(d: dict[str, Any], field: str, bad: float) -> None:
    request = kelly_request(d)
    if field == "open_exposure":
        poisoned = EntryRequest(**{**vars(request), "open_exposure": {"XRP/USDT": bad}})
    elif field == "closed_profit_ratios":
        # A broken closed trade is dropped from the shrinkage, not a reason to refuse; it must
        # not change the decision either.
        poisoned = EntryRequest(
            **{**vars(request), "closed_profit_ratios": (*request.closed_profit_ratios, bad)}
        )
        mgr = RiskManager(LIMITS)
        assert mgr.decide(poisoned).stake == mgr.decide(request).stake
        return
    else:
        poisoned = EntryRequest(**{**vars(request), field: bad})
    decision = RiskManager(LIMITS).decide(poisoned)
    assert decision.refused and decision.stake == 0.0
    assert decision.code in ("inputs", "payoff_ratio")


@given(d=valid_kelly)
def test_no_positive_edge_is_refused(d: dict[str, Any]) -> None:
    request = kelly_request({**d, "closed": []})
    b = payoff_ratio_from_barriers(
        request.k_tp, request.k_sl, request.atr, request.price, request.fee
    )
    assume(b > 0.0)
    # The largest p with no edge at this b: p*b - (1 - p) <= 0.
    p_max = 1.0 / (1.0 + b)
    for p in (0.0, p_max * 0.5, p_max * (1 - 1e-9)):
        decision = RiskManager(LIMITS).decide(EntryRequest(**{**vars(request), "probability": p}))
        assert decision.refused and decision.code == "kelly_edge" and decision.stake == 0.0


@pytest.mark.parametrize("cap", CAP_STEPS)
def test_each_cap_binds_for_some_input(cap: str) -> None:
    mgr = RiskManager(LIMITS)
    found = find(
        valid_kelly, lambda d: mgr.decide(kelly_request(d)).binding == cap,
        settings=settings(max_examples=5000, database=None, deadline=None,
            suppress_health_check=[HealthCheck.too_slow]),
    )  # fmt: skip
    decision = mgr.decide(kelly_request(found))
    assert decision.allowed and decision.resized and decision.code == cap


# The order -----------------------------------------------------------------------------------

Inject = Callable[[dict[str, Any]], None]


def _set(**values: Any) -> Inject:
    return lambda kwargs: kwargs.update(values)


# One failure per step that can refuse (max_position_pct and max_stake only shrink; the
# volatility scale cannot be 0 once the ATR and baseline have passed the input step).
FAILURES: dict[str, Inject] = {
    "request": _set(time="noon"),
    "circuit_breaker": _set(halt=True),
    "blacklist_symbols": _set(pair="DOGE/USDT"),
    "max_trades_per_hour": _set(recent_entry_times=[NOW - timedelta(minutes=m) for m in (1, 2, 3)]),
    "inputs": _set(equity=math.nan),
    "signal_age": _set(signal_time=NOW - 3 * HOUR),
    "payoff_ratio": _set(fee=0.5),
    "kelly_edge": _set(probability=0.05),
    "max_position_value_usd": lambda kw: kw["open_exposure"].update({kw["pair"]: 150.0}),
    "max_total_exposure_usd": lambda kw: kw["open_exposure"].update({"XRP/USDT": 400.0}),
    "min_stake": _set(min_stake=450.0),
}


def _with_failures(steps: tuple[str, ...]) -> EntryDecision:
    kwargs: dict[str, Any] = {
        "pair": "BTC/USDT", "time": NOW, "sizing": "kelly", "price": 100.0,
        "probability": 0.6, "atr": 1.0, "atr_baseline": 1.0, "k_tp": 2.0, "k_sl": 1.0,
        "fee": 0.001, "signal_time": NOW - HOUR, "timeframe": HOUR, "equity": 1000.0,
        "open_exposure": {}, "min_stake": 5.0, "max_stake": 500.0,
    }  # fmt: skip
    # The pair first: later failures key on it.
    for step in sorted(steps, key=lambda s: s != "blacklist_symbols"):
        FAILURES[step](kwargs)
    mgr = RiskManager(LIMITS)
    if kwargs.pop("halt", False):
        mgr.breaker.trip("operator", NOW)
    return mgr.decide(EntryRequest(**kwargs))


def test_each_failure_alone_refuses_at_its_step() -> None:
    assert _with_failures(()).allowed
    for step in FAILURES:
        assert _with_failures((step,)).code == step, step


@pytest.mark.parametrize(("first", "second"), list(combinations(FAILURES, 2)))
def test_the_earlier_step_in_decision_order_decides(first: str, second: str) -> None:
    assert DECISION_ORDER.index(first) < DECISION_ORDER.index(second)
    assert _with_failures((first, second)).code == first


def test_docs_list_the_decision_order_of_the_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## The entry decision", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^\d+\. \*\*`?([a-z_]+)`?\*\*", section, flags=re.MULTILINE)
    assert tuple(steps) == DECISION_ORDER
