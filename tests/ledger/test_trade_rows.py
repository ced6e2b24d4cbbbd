from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.analysis.ledger.schema import EXIT_REASONS, TRADE_COLUMNS
from tribar.analysis.ledger.trade_rows import (
    Fill,
    InvalidTradeRow,
    RowContext,
    TradeFacts,
    build_row,
    facts_from_backtest,
    facts_from_trade,
    live_trade_id,
    normalise_exit_reason,
    row_from_json,
    row_to_json,
)

CTX = RowContext(source="dry_run", dry_run=True, bot_name="tribar", config_hash="ab" * 32)
T0 = datetime(2025, 3, 1, 10, tzinfo=UTC)


def facts(**changes: Any) -> TradeFacts:
    base = TradeFacts(
        trade_id="t1", pair="ETH/USDT", is_short=False, open_rate=2000.0, close_rate=2100.0,
        amount=0.5, fee_open=0.001, fee_close=0.001, close_profit=0.0479,
        close_profit_abs=47.95, open_date=T0, close_date=T0 + timedelta(hours=5),
        exit_reason="roi", custom={},
    )  # fmt: skip
    return replace(base, **changes)


def test_row_from_a_real_freqtrade_trade(ft_db: str) -> None:
    from tests.ledger.ft_trades import make_trade

    trade = make_trade(
        "BTC/USDT", open_rate=100_000.0, close_rate=101_000.0, amount=0.001,
        custom={"tribar_p_tp": 0.71, "tribar_atr": 812.5, "tribar_spread_bps": 1.5},
        open_rate_requested=99_990.0, close_rate_requested=101_010.0, exit_reason="take_profit",
    )  # fmt: skip
    row = build_row(facts_from_trade(trade), CTX)
    assert set(row) == set(TRADE_COLUMNS)
    assert row["trade_id"] == live_trade_id("binance", "BTC/USDT", trade.id, T0)
    assert row["symbol"] == "BTC/USDT" and row["side"] == "long"
    assert row["entry_price"] == Decimal("100000.0") and row["exit_price"] == Decimal("101000.0")
    assert row["quantity"] == Decimal("0.001")
    # Fees from Freqtrade's own numbers: 0.1% of 100 in, 0.1% of 101 out.
    assert float(row["commission"]) == pytest.approx(0.201, abs=1e-12)
    assert float(row["net_pnl"]) == pytest.approx(trade.close_profit_abs, abs=1e-12)
    assert float(row["pnl_usdt"]) == pytest.approx(1.0, abs=1e-9)  # (101000-100000)*0.001
    assert row["pnl_pct"] == pytest.approx(trade.close_profit * 100)
    assert row["model_confidence"] == 0.71 and row["market_volatility"] == 812.5
    assert row["spread_bps"] == 1.5 and row["volume_24h"] is None
    assert row["predicted_direction"] == "up" and row["actual_direction"] == "up"
    # Entry paid 1 bp over the request (10 USDT on 99,990), exit got 10 below 101,010.
    expected_slip = (100_000 - 99_990) / 99_990 * 1e4 + (101_010 - 101_000) / 101_010 * 1e4
    assert row["slippage_bps"] == pytest.approx(expected_slip)
    assert row["order_latency_ms"] == pytest.approx(250.0)
    assert row["execution_type"] == "taker"
    assert row["exit_reason"] == "take_profit"
    assert row["entry_time"] == T0 and row["timestamp"] == row["exit_time"] == T0 + timedelta(
        hours=3, milliseconds=250
    )
    assert row["entry_time"].tzinfo is not None
    assert row["dry_run"] is True and row["source"] == "dry_run"
    assert row["strategy"] == "TripleBarrierML" and row["exchange"] == "binance"
    assert row["stake_currency"] == "USDT" and row["bot_name"] == "tribar"


def test_short_losing_trade(ft_db: str) -> None:
    from tests.ledger.ft_trades import make_trade

    trade = make_trade("SOL/USDT:USDT", is_short=True, open_rate=150.0, close_rate=156.0,
                       amount=2.0, exit_reason="stop_loss", custom={"tribar_p_tp": 0.6},
                       exit_order_type="limit")  # fmt: skip
    row = build_row(facts_from_trade(trade), CTX)
    assert row["side"] == "short"
    assert row["predicted_direction"] == "down" and row["actual_direction"] == "up"
    assert float(row["net_pnl"]) < 0 and float(row["net_pnl"]) == pytest.approx(
        trade.close_profit_abs
    )
    # Gross loss of a short: (150 - 156) * 2 = -12.
    assert float(row["pnl_usdt"]) == pytest.approx(-12.0, abs=1e-6)
    assert row["execution_type"] == "maker" and row["exit_reason"] == "stop_loss"
    assert row["slippage_bps"] is None  # no requested rates recorded


def test_custom_data_is_optional_and_nan_means_missing(ft_db: str) -> None:
    from tests.ledger.ft_trades import make_trade

    plain = build_row(facts_from_trade(make_trade()), CTX)
    assert plain["model_confidence"] is None and plain["predicted_direction"] is None
    assert plain["market_volatility"] is None
    nan_custom = {"tribar_p_tp": float("nan"), "tribar_atr": float("nan")}
    nan = build_row(facts_from_trade(make_trade(custom=nan_custom)), CTX)
    assert nan["model_confidence"] is None and nan["market_volatility"] is None


def test_the_risk_cap_that_resized_the_stake_reaches_the_row(ft_db: str) -> None:
    from tests.ledger.ft_trades import make_trade

    resized = make_trade(custom={"tribar_p_tp": 0.6, "tribar_stake_cap": "max_position_pct"})
    assert build_row(facts_from_trade(resized), CTX)["stake_cap"] == "max_position_pct"
    assert build_row(facts_from_trade(make_trade()), CTX)["stake_cap"] is None
    with pytest.raises(InvalidTradeRow, match="tribar_stake_cap is 3; expected a risk cap name"):
        build_row(facts(custom={"tribar_stake_cap": 3}), CTX)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("roi", "roi"), ("stop_loss", "stop_loss"), ("stoploss_on_exchange", "stop_loss"),
        ("trailing_stop_loss", "trailing_stop_loss"), ("exit_signal", "exit_signal"),
        ("force_exit", "force_exit"), ("emergency_exit", "force_exit"),
        ("sold_on_exchange", "manual"), ("liquidation", "liquidation"),
        ("take_profit", "take_profit"), ("Take-Profit", "take_profit"), ("timeout", "timeout"),
        ("my_custom_tag", "other"), ("custom_exit", "other"), ("", None), (None, None),
    ],
)  # fmt: skip
def test_exit_reasons_map_onto_the_schema_domain(raw: str | None, expected: str | None) -> None:
    assert normalise_exit_reason(raw) == expected
    assert expected is None or expected in EXIT_REASONS


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"open_rate": float("nan")}, "open_rate is not finite"),
        ({"close_rate": float("inf")}, "close_rate is not finite"),
        ({"open_rate": 0.0}, "open_rate must be > 0"),
        ({"close_rate": -3.0}, "close_rate must be > 0"),
        ({"close_rate": None}, "close_rate is missing"),
        ({"close_date": None}, "close_date is missing"),
        ({"close_date": T0 - timedelta(minutes=1)}, "is before entry"),
        ({"close_profit_abs": float("nan")}, "close_profit_abs is not finite"),
        ({"pair": ""}, "pair is missing"),
        ({"pair": "X" * 80}, "longer than 64"),
        ({"custom": {"tribar_p_tp": 1.2}}, "outside 0..1"),
        ({"custom": {"tribar_p_tp": float("inf")}}, "must be a number in 0..1"),
        ({"custom": {"tribar_p_tp": "high"}}, "must be a number in 0..1"),
        ({"open_rate": 1e17}, "NUMERIC range"),
        ({"fee_open": -0.01}, "negative fee"),
    ],
)
def test_invalid_trades_raise_with_a_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidTradeRow, match=reason) as err:
        build_row(facts(**changes), CTX)
    assert err.value.trade_id == "t1"


def test_unknown_pair_only_when_markets_are_known() -> None:
    ctx = replace(CTX, known_pairs=frozenset({"BTC/USDT"}))
    with pytest.raises(InvalidTradeRow, match="unknown pair 'ETH/USDT'"):
        build_row(facts(), ctx)
    assert build_row(facts(pair="BTC/USDT"), ctx)["symbol"] == "BTC/USDT"


def test_dry_run_from_order_ids_when_the_context_does_not_say() -> None:
    ctx = RowContext(source="import")
    dry = [Fill(True, 0.5, 2000.0, order_id="dry_run_buy_ETH/USDT_x")]
    live = [Fill(True, 0.5, 2000.0, order_id="8812345")]
    assert build_row(facts(fills=tuple(dry)), ctx)["dry_run"] is True
    assert build_row(facts(fills=tuple(live)), ctx)["dry_run"] is False
    with pytest.raises(InvalidTradeRow, match="dry-run or live"):
        build_row(facts(), ctx)


def test_partial_exits_use_total_quantity_and_weighted_exit_price() -> None:
    fills = (
        Fill(True, 1.0, 100.0), Fill(True, 1.0, 110.0),  # DCA: open_rate 105
        Fill(False, 1.5, 120.0), Fill(False, 0.5, 100.0),
    )  # fmt: skip
    row = build_row(facts(open_rate=105.0, close_rate=100.0, amount=0.5, fills=fills), CTX)
    assert row["quantity"] == Decimal("2.0")
    assert row["exit_price"] == Decimal("115.0")  # (1.5*120 + 0.5*100) / 2
    assert float(row["commission"]) == pytest.approx(2 * 105 * 0.001 + 2 * 115 * 0.001)


def test_backtest_trade_dict() -> None:
    bt = {
        "pair": "SOL/USDT", "amount": 1.434, "open_date": "2025-03-04 06:00:00+00:00",
        "close_date": "2025-03-04 14:00:00+00:00", "open_rate": 138.02, "close_rate": 139.68,
        "fee_open": 0.001, "fee_close": 0.001, "profit_ratio": 0.01000520997622867,
        "profit_abs": 1.9822182, "exit_reason": "roi", "is_open": False, "is_short": False,
        "orders": [
            {"amount": 1.434, "safe_price": 138.02, "ft_order_side": "buy",
             "order_filled_timestamp": 1741068000000, "ft_is_entry": True},
            {"amount": 1.434, "safe_price": 139.68, "ft_order_side": "sell",
             "order_filled_timestamp": 1741096800000, "ft_is_entry": False},
        ],
    }  # fmt: skip
    row = build_row(
        facts_from_backtest(bt, "bt:run:S:0", "S"), RowContext("backtest", dry_run=True)
    )
    assert row["entry_time"] == datetime(2025, 3, 4, 6, tzinfo=UTC)
    assert float(row["net_pnl"]) == pytest.approx(1.9822182)
    # Freqtrade's profit_abs = gross - fees, to the cent of a cent.
    assert float(row["pnl_usdt"]) == pytest.approx((139.68 - 138.02) * 1.434, abs=1e-8)
    assert row["pnl_pct"] == pytest.approx(1.000520997622867)
    assert row["exit_reason"] == "roi" and row["source"] == "backtest"
    assert row["order_latency_ms"] is None and row["execution_type"] is None


def test_context_strings_are_checked_up_front() -> None:
    with pytest.raises(ValueError, match="bot_name"):
        RowContext(source="live", bot_name="b" * 65)
    with pytest.raises(ValueError, match="source"):
        RowContext(source="paper")


prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    entry=prices,
    exit_=prices,
    amount=st.floats(min_value=1e-6, max_value=1e6),
    fee=st.floats(min_value=0, max_value=0.01),
    short=st.booleans(),
    conf=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
)
def test_valid_rows_satisfy_the_checks_and_survive_json(
    entry: float, exit_: float, amount: float, fee: float, short: bool, conf: float | None,
    minutes: int,
) -> None:  # fmt: skip
    sign = -1 if short else 1
    gross = sign * (exit_ - entry) * amount
    fees = (entry + exit_) * amount * fee
    f = facts(
        open_rate=entry, close_rate=exit_, amount=amount, fee_open=fee, fee_close=fee,
        is_short=short, close_profit_abs=gross - fees,
        close_profit=(gross - fees) / (entry * amount),
        close_date=T0 + timedelta(minutes=minutes),
        custom={} if conf is None else {"tribar_p_tp": conf},
    )  # fmt: skip
    row = build_row(f, CTX)
    assert row["entry_price"] > 0 and row["exit_price"] > 0 and row["quantity"] > 0
    assert row["commission"] >= 0
    assert row["exit_time"] >= row["entry_time"]
    assert row["model_confidence"] is None or 0 <= row["model_confidence"] <= 1
    assert math.isclose(float(row["pnl_usdt"]), gross, rel_tol=1e-9, abs_tol=1e-9)
    assert row_from_json(row_to_json(row)) == row


def test_json_payload_rejects_foreign_columns() -> None:
    with pytest.raises(ValueError, match="unknown columns"):
        row_from_json('{"trade_id": "x", "password": "y"}')


def test_exit_reason_overrides_from_config() -> None:
    from tribar.analysis.ledger.trade_rows import exit_reason_overrides

    overrides = exit_reason_overrides({"ROI": "take_profit", "tb-timeout": "timeout"}, "cfg")
    assert overrides == {"roi": "take_profit", "tb_timeout": "timeout"}
    assert normalise_exit_reason("roi", overrides) == "take_profit"
    assert normalise_exit_reason("stop_loss", overrides) == "stop_loss"
    ctx = replace(CTX, exit_reasons=overrides)
    assert build_row(facts(exit_reason="roi"), ctx)["exit_reason"] == "take_profit"
    with pytest.raises(ValueError, match="ledger reasons are"):
        exit_reason_overrides({"roi": "moon"}, "cfg")
    with pytest.raises(ValueError, match="must be an object"):
        exit_reason_overrides(["roi"], "cfg")
