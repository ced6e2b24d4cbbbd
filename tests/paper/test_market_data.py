"""Candles, tickers and order books served from history at an instant (no Freqtrade bot)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tribar.paper.errors import ReplayDataError
from tribar.paper.market_data import (
    CandleLoader,
    HistoricalMarket,
    partial_candle,
    price_on_path,
    round_down_to_tick,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "user_data" / "data" / "binance"
MARKETS = json.loads((REPO / "user_data" / "markets" / "binance-spot.json").read_text())
HOUR = 3_600_000


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def market() -> HistoricalMarket:
    return HistoricalMarket(CandleLoader(DATA), MARKETS)


def test_path_visits_the_extremes_in_candle_order() -> None:
    up = [price_on_path(10, 14, 8, 12, f) for f in (0, 1 / 3, 2 / 3, 1)]
    down = [price_on_path(10, 14, 8, 9, f) for f in (0, 1 / 3, 2 / 3, 1)]
    assert up == [10, 8, 14, 12]
    assert down == [10, 14, 8, 9]


@given(
    o=st.floats(1, 100), span=st.floats(0, 50), close_at=st.floats(0, 1), f=st.floats(0, 1),
)  # fmt: skip
def test_partial_candle_stays_inside_the_full_candle(
    o: float, span: float, close_at: float, f: float
) -> None:
    low, high = min(o, o - span / 2), o + span / 2
    close = low + (high - low) * close_at
    po, ph, pl, pc, pv = partial_candle(o, high, low, close, 100.0, f)
    assert po == o
    assert low - 1e-9 <= pl <= pc <= ph <= high + 1e-9
    assert pv == pytest.approx(100.0 * f)
    # Seen to the end, the partial candle is the candle.
    assert partial_candle(o, high, low, close, 100.0, 1.0)[1:4] == pytest.approx((high, low, close))


@given(price=st.floats(0.01, 200_000), tick_exp=st.integers(-6, 1))
def test_tick_rounding_lands_on_the_grid_below_the_price(price: float, tick_exp: int) -> None:
    tick = 10.0**tick_exp
    bid = round_down_to_tick(price, tick)
    assert bid <= price + 1e-9
    assert price - bid < tick + 1e-9
    assert math.isclose(bid, round(bid / tick) * tick, rel_tol=1e-12, abs_tol=1e-12)


def test_ohlcv_serves_closed_candles_and_the_forming_one(market: HistoricalMarket) -> None:
    now = ms(2025, 6, 1, 10, 20)
    rows = market.ohlcv("BTC/USDT", "1h", now, None, 3)
    assert [r[0] for r in rows] == [ms(2025, 6, 1, 8), ms(2025, 6, 1, 9), ms(2025, 6, 1, 10)]
    frame = pd.read_feather(DATA / "BTC_USDT-1h.feather").set_index("date")
    closed = frame.loc[pd.Timestamp("2025-06-01 09:00", tz="UTC")]
    assert rows[1][1:] == pytest.approx(list(closed[["open", "high", "low", "close", "volume"]]))
    # The forming 10:00 candle is a third of the way through: not the final candle.
    final = frame.loc[pd.Timestamp("2025-06-01 10:00", tz="UTC")]
    assert rows[2][1] == pytest.approx(final["open"])
    assert rows[2][5] == pytest.approx(final["volume"] / 3)
    # Nothing after `now` is ever served, whatever `since` and `limit` ask for.
    later = market.ohlcv("BTC/USDT", "1h", now, ms(2025, 6, 1, 9), 1000)
    assert later[-1][0] == ms(2025, 6, 1, 10)


def test_coarse_forming_candle_is_built_from_the_finer_candles(market: HistoricalMarket) -> None:
    now = ms(2025, 6, 1, 6)  # two hours into the 04:00 4h candle
    four = market.ohlcv("BTC/USDT", "4h", now, ms(2025, 6, 1, 4), 10)
    assert [r[0] for r in four] == [ms(2025, 6, 1, 4)]
    hourly = market.ohlcv("BTC/USDT", "1h", now, ms(2025, 6, 1, 4), 2)
    assert four[0][1] == hourly[0][1]
    assert four[0][2] == max(hourly[0][2], hourly[1][2])
    assert four[0][3] == min(hourly[0][3], hourly[1][3])
    assert four[0][4] == hourly[1][4]


def test_a_missing_4h_file_is_served_from_the_1h_candles(market: HistoricalMarket) -> None:
    # The bundled data has no NEAR/USDT 4h file (the source set has none).
    assert not (DATA / "NEAR_USDT-4h.feather").exists()
    now = ms(2025, 6, 2, 1)
    four = market.ohlcv("NEAR/USDT", "4h", now, ms(2025, 6, 1, 12), 10)
    assert [r[0] for r in four][:3] == [ms(2025, 6, 1, 12), ms(2025, 6, 1, 16), ms(2025, 6, 1, 20)]
    hourly = pd.read_feather(DATA / "NEAR_USDT-1h.feather").set_index("date")
    block = hourly.loc[pd.Timestamp("2025-06-01 16:00", tz="UTC"):].iloc[:4]
    assert four[1][1:] == pytest.approx(
        [block["open"].iloc[0], block["high"].max(), block["low"].min(), block["close"].iloc[-1],
         block["volume"].sum()]
    )


def test_ticker_and_book_sit_on_the_tick_grid_around_the_price(market: HistoricalMarket) -> None:
    now = ms(2025, 6, 1, 10, 20)
    tick = MARKETS["ETH/USDT"]["precision"]["price"]
    ticker = market.ticker("ETH/USDT", now)
    assert ticker["bid"] <= ticker["last"] < ticker["ask"]
    assert ticker["ask"] - ticker["bid"] == pytest.approx(tick)
    book = market.order_book("ETH/USDT", now, 5)
    assert book["bids"][0][0] == ticker["bid"] and book["asks"][0][0] == ticker["ask"]
    bids = np.array([b[0] for b in book["bids"]])
    asks = np.array([a[0] for a in book["asks"]])
    assert np.allclose(np.diff(bids), -tick) and np.allclose(np.diff(asks), tick)


def test_missing_data_and_ranges_name_what_and_where(tmp_path: Path) -> None:
    market = HistoricalMarket(CandleLoader(DATA), MARKETS)
    with pytest.raises(ReplayDataError, match="no candles"):
        HistoricalMarket(CandleLoader(tmp_path), MARKETS).finest("BTC/USDT")
    with pytest.raises(ReplayDataError, match="does not include the replay range"):
        market.check_covers(["BTC/USDT"], ms(2020, 1, 1), ms(2020, 2, 1))
    with pytest.raises(ReplayDataError, match=r"precision\.price"):
        HistoricalMarket(CandleLoader(DATA), {"BTC/USDT": {"precision": {}}}).touch(
            "BTC/USDT", ms(2025, 6, 1)
        )
    with pytest.raises(ReplayDataError, match="does not exist"):
        CandleLoader(tmp_path / "nope")
