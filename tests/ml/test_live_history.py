"""Live FreqAI's in-memory candle history keeps a datetime date column (tribar.ml.live_history).
The replayed-bot test (tests/lifecycle/test_replayed_lifecycle.py) retrains 6 h after the start,
before the 1d timeframe's first new candle, which failed before this fix."""

from __future__ import annotations

import datetime
import zoneinfo

import numpy as np
import pandas as pd
import pytest
from freqtrade.strategy import merge_informative_pair

from tribar.ml.live_history import datetime_dates


def _candles(start: str, periods: int, freq: str, tz: object, unit: str) -> pd.DataFrame:
    dates = pd.date_range(start, periods=periods, freq=freq, tz=tz).as_unit(unit)
    return pd.DataFrame({"date": dates, "close": np.arange(periods, dtype=float)})


def test_appended_candles_leave_an_object_column_that_breaks_the_merge_until_parsed() -> None:
    # As FreqAI's update_historic_data: history read from feather, then the data provider's
    # newest candle (another tz object and resolution) appended.
    history = _candles("2025-05-01", 48, "1h", zoneinfo.ZoneInfo("UTC"), "ms")
    newest = _candles("2025-05-03", 1, "1h", datetime.UTC, "us")
    hourly = pd.concat([history, newest], ignore_index=True)
    daily = _candles("2025-04-01", 32, "1D", zoneinfo.ZoneInfo("UTC"), "ms")  # no new candle yet
    assert hourly["date"].dtype == object
    with pytest.raises(ValueError, match="merge on object and datetime64"):
        merge_informative_pair(hourly, daily, "1h", "1d", ffill=True)

    data = {"BTC/USDT": {"1h": hourly, "1d": daily}}
    assert datetime_dates(data) == 1
    assert data["BTC/USDT"]["1h"] is hourly  # changed in place: FreqAI's dict keeps the frame
    assert str(hourly["date"].dtype).startswith("datetime64") and hourly["date"].dt.tz is not None
    assert hourly["date"].iloc[-1] == pd.Timestamp("2025-05-03", tz="UTC")
    merged = merge_informative_pair(hourly, daily, "1h", "1d", ffill=True)
    assert len(merged) == len(hourly)
    assert datetime_dates(data) == 0  # nothing left to parse


def test_unparseable_dates_are_logged_and_left_without_stopping_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = pd.DataFrame({"date": pd.Series(["2025-06-01 00:00:00+00:00"], dtype=object)})
    bad = pd.DataFrame({"date": pd.Series(["not a date"], dtype=object)})
    history = {"BTC/USDT": {"1h": bad, "4h": good}}
    with caplog.at_level("ERROR"):
        assert datetime_dates(history) == 1
    assert "BTC/USDT 1h" in caplog.text
    assert history["BTC/USDT"]["1h"]["date"].iloc[0] == "not a date"
    assert str(history["BTC/USDT"]["4h"]["date"].dtype).startswith("datetime64")
