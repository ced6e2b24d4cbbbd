"""Parity matching on constructed trades: each mismatch gets the cause the records show."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from tribar.paper.parity import ParityRecords, match_trades, summarise


def t(hour: int, minute: int = 0) -> pd.Timestamp:
    return pd.Timestamp(datetime(2025, 6, 1, hour, minute, tzinfo=UTC))


def trades(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=["id", "pair", "open_date", "close_date", "open_rate", "close_rate", "profit_abs"],
    )
    return frame


NO_RECORDS = ParityRecords(
    cancelled_entries=pd.DataFrame(columns=["pair", "order_date"]),
    locks=pd.DataFrame(columns=["pair", "lock_time", "lock_end_time"]),
    live_trainings={"BTC/USDT": [datetime(2025, 6, 1, tzinfo=UTC)]},
    backtest_trainings={"BTC/USDT": [datetime(2025, 6, 1, tzinfo=UTC)]},
)


def match(paper: pd.DataFrame, backtest: pd.DataFrame, records: ParityRecords = NO_RECORDS):
    return match_trades(
        paper, backtest, records, timeframe="1h", tolerance_bps=10, profit_tolerance=0.1
    )


def test_same_trade_matches_within_tolerance() -> None:
    paper = trades([(1, "BTC/USDT", t(2), t(5), 100.0, 103.0, 3.0)])
    backtest = trades([(0, "BTC/USDT", t(2), t(5), 100.05, 103.0, 3.0)])
    [m] = match(paper, backtest)
    assert (m.status, m.cause, m.paper_id) == ("matched", None, 1)
    assert m.entry_deviation_bps == pytest.approx((100.0 / 100.05 - 1) * 1e4)


def test_late_fill_is_fill_timing_and_other_exit_candle_is_named() -> None:
    paper = trades([(1, "BTC/USDT", t(2, 15), t(5), 101.0, 103.0, 2.0),
                    (2, "ETH/USDT", t(7), t(12), 10.0, 10.5, 5.0)])  # fmt: skip
    backtest = trades([(0, "BTC/USDT", t(2), t(5), 100.0, 103.0, 3.0),
                       (0, "ETH/USDT", t(7), t(9), 10.0, 10.2, 2.0)])  # fmt: skip
    by_pair = {m.pair: m for m in match(paper, backtest)}
    assert (by_pair["BTC/USDT"].status, by_pair["BTC/USDT"].cause) == ("deviates", "fill timing")
    assert by_pair["ETH/USDT"].cause == "exit at another candle"


def test_missed_trades_are_explained_by_timeout_lock_open_trade_or_retrain() -> None:
    backtest = trades([
        (0, "BTC/USDT", t(2), t(3), 100.0, 101.0, 1.0),
        (0, "BTC/USDT", t(6), t(7), 100.0, 101.0, 1.0),
        (0, "BTC/USDT", t(12), t(13), 100.0, 101.0, 1.0),
        (0, "BTC/USDT", t(20), t(21), 100.0, 101.0, 1.0),
        (0, "ETH/USDT", t(2), t(3), 10.0, 10.1, 1.0),
    ])  # fmt: skip
    paper = trades([(1, "BTC/USDT", t(11), t(15), 100.0, 101.0, 1.0)])
    records = ParityRecords(
        cancelled_entries=pd.DataFrame({"pair": ["BTC/USDT"], "order_date": [t(2, 0)]}),
        locks=pd.DataFrame({"pair": ["*"], "lock_time": [t(5)], "lock_end_time": [t(8)]}),
        live_trainings={
            "BTC/USDT": [datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 1, 18, tzinfo=UTC)]
        },
        backtest_trainings={"BTC/USDT": [datetime(2025, 6, 1, tzinfo=UTC)]},
    )
    causes = {
        (m.pair, m.entry_candle.hour): m.cause
        for m in match(paper, backtest, records)
        if m.status == "missed"
    }
    assert causes[("BTC/USDT", 2)] == "order timeout"
    assert causes[("BTC/USDT", 6)] == "lock"
    assert causes[("BTC/USDT", 12)] == "trade already open"
    assert causes[("BTC/USDT", 20)] == "retrain at a different time"
    assert causes[("ETH/USDT", 2)] == "unexplained"


def test_extra_paper_trade_and_summary_counts() -> None:
    paper = trades([(1, "BTC/USDT", t(2), t(3), 100.0, 101.0, 1.0),
                    (2, "BTC/USDT", t(9), t(10), 100.0, 99.0, -1.0)])  # fmt: skip
    backtest = trades([(0, "BTC/USDT", t(2), t(3), 100.0, 101.0, 1.0),
                       (0, "BTC/USDT", t(8, 0), t(12), 100.0, 99.0, -1.0)])  # fmt: skip
    matches = match(paper, backtest)
    extra = [m for m in matches if m.status == "extra"]
    assert [m.paper_id for m in extra] == [2]
    assert extra[0].cause == "trade already open"  # the backtest still held its 08:00 trade
    summary = summarise(matches, paper, backtest)
    assert (summary.matched, summary.missed, summary.extra) == (1, 1, 1)
    assert summary.paper_profit == 0.0 and summary.backtest_profit == 0.0
    # The missed 08:00 backtest trade: no timeout, lock, open paper trade or retrain explains it.
    assert summary.causes == {"trade already open": 1, "unexplained": 1}
