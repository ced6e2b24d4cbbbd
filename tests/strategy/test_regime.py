"""The BTC regime filter (tribar.regime): a row sees only daily candles that have closed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib.abstract as ta
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.regime import regime_from_daily


def daily_candles(closes: list[float]) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=len(closes), freq="1D", tz="UTC")
    close = np.asarray(closes, dtype=float)
    return pd.DataFrame({"date": dates, "open": close, "high": close, "low": close,
                         "close": close, "volume": 1.0})  # fmt: skip


def hourly_rows(days: int) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=days * 24, freq="1h", tz="UTC")
    return pd.DataFrame({"date": dates}, index=pd.RangeIndex(100, 100 + len(dates)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1.0, 100.0), min_size=8, max_size=30), st.integers(2, 5))
def test_each_hour_carries_the_previous_closed_days_verdict(
    closes: list[float], ema_days: int
) -> None:
    daily = daily_candles(closes)
    rows = hourly_rows(len(closes))
    regime = regime_from_daily(rows, daily, ema_days, "1h")
    above = (daily["close"] > ta.EMA(daily, timeperiod=ema_days)).to_numpy()
    # Day d's candle closes at 24:00, as does its 23:00 hourly candle: the hours 00:00-22:00 of
    # day d see day d-1's verdict (the first day sees none: False), 23:00 sees day d's, as
    # Freqtrade's merge_informative_pair aligns closes (a signal acts at the next open).
    seen = np.concatenate([[False], above[:-1]])
    expected = np.repeat(seen, 24)
    expected[23::24] = above
    assert regime.index.equals(rows.index)
    np.testing.assert_array_equal(regime.to_numpy(), expected)


def test_a_later_daily_close_never_changes_an_earlier_hour() -> None:
    closes = [10.0 + i for i in range(20)]
    rows = hourly_rows(20)
    before = regime_from_daily(rows, daily_candles(closes), 3, "1h")
    crashed = closes[:15] + [1.0] * 5  # days 15..19 collapse below the EMA
    after = regime_from_daily(rows, daily_candles(crashed), 3, "1h")
    first_affected = 15 * 24 + 23  # day 15's close is seen from its last hourly candle on
    assert before.iloc[:first_affected].equals(after.iloc[:first_affected])
    assert before.iloc[first_affected:].all() and not after.iloc[first_affected:].any()


def test_no_daily_data_means_no_regime() -> None:
    rows = hourly_rows(2)
    assert not regime_from_daily(rows, None, 3, "1h").any()
    assert not regime_from_daily(rows, daily_candles([])[0:0], 3, "1h").any()


def test_object_dates_are_parsed() -> None:
    closes = [10.0 + i for i in range(10)]
    rows = hourly_rows(10)
    as_text = rows.assign(date=rows["date"].astype(str).astype(object))
    pd.testing.assert_series_equal(
        regime_from_daily(as_text, daily_candles(closes), 3, "1h"),
        regime_from_daily(rows, daily_candles(closes), 3, "1h"),
    )
