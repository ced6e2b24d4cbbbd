"""Which signal candle a backtest trade gets its context from (analysis.ledger.backtest_signals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tribar.analysis.ledger.backtest_signals import entry_context

HOUR = timedelta(hours=1)
KEYS = ("tribar_p_tp", "tribar_atr", "tribar_spread_bps")


def at(hour: int) -> datetime:
    return datetime(2025, 7, 1, tzinfo=UTC) + hour * HOUR


def candles() -> pd.DataFrame:
    # What Freqtrade exports: only the signal candles of this pair's trades, out of order is
    # possible when several strategies' frames are combined, so the lookup sorts.
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex([at(9), at(2), at(5)]),
            "tribar_p_tp": [0.61, 0.55, np.nan],
            "tribar_atr": [12.5, 11.0, 10.0],
            "close": [100.0, 101.0, 102.0],
        }
    )


def test_each_entry_takes_the_candle_that_closed_when_it_was_placed() -> None:
    # Entries fill at the open after their signal candle: 03:00 comes from the 02:00 candle.
    got = entry_context(candles(), [at(3), at(10)], HOUR, KEYS)
    assert got == [
        {"tribar_p_tp": 0.55, "tribar_atr": 11.0},
        {"tribar_p_tp": 0.61, "tribar_atr": 12.5},
    ]
    assert all(type(v) is float for row in got for v in row.values())


def test_no_context_from_an_older_candle_or_a_missing_value() -> None:
    # 08:00's signal candle (07:00) is not exported: the 05:00 candle is another trade's.
    # At 06:00 the 05:00 candle is right, but it has no probability (NaN) -- only its ATR.
    got = entry_context(candles(), [at(8), at(6), at(1)], HOUR, KEYS)
    assert got == [{}, {"tribar_atr": 10.0}, {}]


def test_columns_that_are_no_custom_data_keys_are_ignored() -> None:
    assert entry_context(candles(), [at(3)], HOUR, ("close_price",)) == [{}]
    assert entry_context(None, [at(3)], HOUR, KEYS) == [{}]
    assert entry_context(candles(), [], HOUR, KEYS) == []
