"""Historical candles served as if they were a live exchange: OHLCV up to a given instant,
and the ticker and order book of that instant.

Only closed candles and the candle forming at ``now`` are ever served, so a bot fed from here
sees exactly what it would have seen at ``now`` (Freqtrade drops the forming candle itself, as it
does on Binance). Within a candle the price follows a fixed path through the candle's extremes,
``open -> low -> high -> close`` for a rising candle and ``open -> high -> low -> close`` for a
falling one, each leg a third of the candle: a convention, since the data has no finer
prints. Bid and ask sit on the market's tick grid one tick apart, so limit orders placed at the
touch by Freqtrade's pricing are on the grid too and fill when the price moves through them.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tribar.paper.errors import ReplayDataError

logger = logging.getLogger(__name__)

# Leg boundaries of the intra-candle path, as fractions of the candle.
_PATH_KNOTS = np.array([0.0, 1 / 3, 2 / 3, 1.0])


def path_prices(open_: float, high: float, low: float, close: float) -> tuple[float, ...]:
    """The four knots of the intra-candle path (see the module docstring)."""
    if close >= open_:
        return (open_, low, high, close)
    return (open_, high, low, close)


def price_on_path(open_: float, high: float, low: float, close: float, fraction: float) -> float:
    """Price at ``fraction`` (0 = open, 1 = close) of a candle along its path."""
    f = min(max(fraction, 0.0), 1.0)
    return float(np.interp(f, _PATH_KNOTS, path_prices(open_, high, low, close)))


def partial_candle(
    open_: float, high: float, low: float, close: float, volume: float, fraction: float
) -> tuple[float, float, float, float, float]:
    """(open, high, low, close, volume) of a candle seen ``fraction`` of the way through."""
    f = min(max(fraction, 0.0), 1.0)
    knots = path_prices(open_, high, low, close)
    now = price_on_path(open_, high, low, close, f)
    passed = [p for k, p in zip(_PATH_KNOTS, knots, strict=True) if k <= f]
    seen = [*passed, now]
    return open_, max(seen), min(seen), now, volume * f


def round_down_to_tick(price: float, tick: float) -> float:
    """The highest tick-grid price <= ``price``, free of binary float noise."""
    decimals = max(0, -math.floor(math.log10(tick))) + 2
    steps = math.floor(round(price / tick, 9))
    return round(steps * tick, decimals)


@dataclass(frozen=True)
class CandleSeries:
    """One pair and timeframe, as numpy arrays sorted by open time (ms)."""

    timeframe_ms: int
    open_time: npt.NDArray[np.int64]
    ohlcv: npt.NDArray[np.float64]  # columns open, high, low, close, volume

    @property
    def first_open(self) -> int:
        return int(self.open_time[0])

    @property
    def end(self) -> int:
        """Close time of the last candle (ms)."""
        return int(self.open_time[-1]) + self.timeframe_ms

    def index_at(self, now_ms: int) -> int:
        """Index of the candle open at ``now_ms`` (-1 before the data)."""
        return int(np.searchsorted(self.open_time, now_ms, side="right")) - 1


class CandleLoader:
    """Reads Freqtrade-format candle files (``<BASE>_<QUOTE>-<tf>.feather``) on demand."""

    def __init__(self, datadir: Path, data_format: str = "feather") -> None:
        from freqtrade.data.history import get_datahandler

        if not datadir.is_dir():
            raise ReplayDataError(f"replay data folder {datadir} does not exist")
        self.datadir = datadir
        self.data_format = data_format
        self._handler = get_datahandler(datadir, data_format)

    def timeframes(self, pair: str) -> list[str]:
        """Timeframes with a candle file for ``pair``, finest first (a timeframe derived from
        1h candles by ``load`` is not listed: it has no file)."""
        from freqtrade.enums import CandleType, TradingMode
        from freqtrade.exchange import timeframe_to_msecs

        found = self._handler.ohlcv_get_available_data(self.datadir, TradingMode.SPOT)
        tfs = {tf for p, tf, ct in found if p == pair and ct == CandleType.SPOT}
        return sorted(tfs, key=timeframe_to_msecs)

    def load(self, pair: str, timeframe: str) -> CandleSeries | None:
        from freqtrade.enums import CandleType
        from freqtrade.exchange import timeframe_to_msecs

        frame = self._handler.ohlcv_load(
            pair, timeframe, timerange=None, candle_type=CandleType.SPOT, warn_no_data=False
        )
        if frame.empty:
            frame = self._derived(pair, timeframe)
        if frame.empty:
            return None
        values = frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
        if not np.isfinite(values).all():
            raise ReplayDataError(
                f"{pair} {timeframe} candles in {self.datadir} contain NaN/inf values"
            )
        open_time = frame["date"].astype("datetime64[ms, UTC]").astype("int64")
        return CandleSeries(timeframe_to_msecs(timeframe), open_time.to_numpy(np.int64), values)

    def _derived(self, pair: str, timeframe: str) -> pd.DataFrame:
        """A missing 4h/1d file built from the pair's 1h candles, as the evaluation does (the
        bundled data has no NEAR/USDT 4h), so the exchange serves what Binance would."""
        from freqtrade.enums import CandleType

        from tribar.evaluate.data import BASE_TIMEFRAME, DERIVABLE, aggregate_candles

        if timeframe not in DERIVABLE:
            return pd.DataFrame()
        hourly = self._handler.ohlcv_load(
            pair, BASE_TIMEFRAME, timerange=None, candle_type=CandleType.SPOT, warn_no_data=False
        )
        if hourly.empty:
            return hourly
        logger.info("%s %s: no candle file, derived from %s candles", pair, timeframe,
                    BASE_TIMEFRAME)  # fmt: skip
        return aggregate_candles(hourly, timeframe)


class HistoricalMarket:
    """Candles of several pairs and timeframes, served up to an instant.

    Candle files are read when first asked for, so a replay serves whatever pairs and
    timeframes the strategy requests. Tickers, order books and forming candles are derived
    from the finest timeframe on disk for the pair.
    """

    def __init__(self, loader: CandleLoader, markets: Mapping[str, Mapping[str, Any]]) -> None:
        self._loader = loader
        self._markets = markets
        self.source = str(loader.datadir)
        self._candles: dict[tuple[str, str], CandleSeries] = {}
        self._finest: dict[str, CandleSeries] = {}
        self._lock = threading.Lock()
        self._pairs_with_data: list[str] | None = None

    def tick_size(self, pair: str) -> float:
        tick = (self._markets.get(pair) or {}).get("precision", {}).get("price")
        if not isinstance(tick, int | float) or not tick > 0:
            raise ReplayDataError(
                f"the markets snapshot has no positive precision.price (tick size) for {pair}; "
                f"got {tick!r}"
            )
        return float(tick)

    def finest(self, pair: str) -> CandleSeries:
        series = self._finest.get(pair)
        if series is None:
            timeframes = self._loader.timeframes(pair)
            if not timeframes:
                raise ReplayDataError(
                    f"no candles for {pair} in {self.source} (expected files like "
                    f"{pair.replace('/', '_')}-1h.{self._loader.data_format})"
                )
            series = self.series(pair, timeframes[0])
            self._finest[pair] = series
        return series

    def pairs_with_data(self) -> list[str]:
        """Snapshot markets that have candle files (what ``fetch_tickers()`` of all returns)."""
        if self._pairs_with_data is None:
            self._pairs_with_data = [p for p in sorted(self._markets) if self._loader.timeframes(p)]
        return self._pairs_with_data

    # --- coverage ------------------------------------------------------------------------
    def check_covers(self, pairs: Iterable[str], start_ms: int, end_ms: int) -> None:
        """Raise unless each pair's finest candles span [start, end)."""
        for pair in pairs:
            series = self.finest(pair)
            if series.first_open > start_ms or series.end < end_ms:
                raise ReplayDataError(
                    f"{pair} candles in {self.source} cover {_iso(series.first_open)} .. "
                    f"{_iso(series.end)}, which does not include the replay range "
                    f"{_iso(start_ms)} .. {_iso(end_ms)}"
                )

    # --- candles -------------------------------------------------------------------------
    def series(self, pair: str, timeframe: str) -> CandleSeries:
        key = (pair, timeframe)
        series = self._candles.get(key)
        if series is None:
            with self._lock:
                series = self._candles.get(key) or self._loader.load(pair, timeframe)
            if series is None:
                raise ReplayDataError(
                    f"no {timeframe} candles for {pair} in {self.source} (expected "
                    f"{pair.replace('/', '_')}-{timeframe}.{self._loader.data_format})"
                )
            self._candles[key] = series
        return series

    def ohlcv(
        self, pair: str, timeframe: str, now_ms: int, since_ms: int | None, limit: int | None
    ) -> list[list[float]]:
        """What ``fetch_ohlcv`` returns at ``now_ms``: candles from ``since_ms`` (or the last
        ``limit``), closed ones plus the one forming at ``now_ms``."""
        series = self.series(pair, timeframe)
        current = series.index_at(now_ms)
        if current < 0:
            return []
        forming = now_ms < int(series.open_time[current]) + series.timeframe_ms
        last_closed = current - 1 if forming else current
        if since_ms is None:
            count = limit or 500
            first = max(0, current + 1 - count)
        else:
            first = int(np.searchsorted(series.open_time, since_ms, side="left"))
        stop = last_closed + 1
        if limit is not None:
            stop = min(stop, first + limit)
        rows = [
            [int(t), *map(float, v)]
            for t, v in zip(series.open_time[first:stop], series.ohlcv[first:stop], strict=True)
        ]
        if forming and stop == last_closed + 1 and (limit is None or len(rows) < limit):
            rows.append(
                [int(series.open_time[current]), *self._forming(pair, series, current, now_ms)]
            )
        return rows

    def _forming(
        self, pair: str, series: CandleSeries, index: int, now_ms: int
    ) -> tuple[float, float, float, float, float]:
        """The candle at ``index`` as seen at ``now_ms``, built from the finest candles."""
        start = int(series.open_time[index])
        fine = self.finest(pair)
        if fine.timeframe_ms == series.timeframe_ms:
            fraction = (now_ms - start) / series.timeframe_ms
            o, h, low, c, v = map(float, series.ohlcv[index])
            return partial_candle(o, h, low, c, v, fraction)
        lo = int(np.searchsorted(fine.open_time, start, side="left"))
        hi = fine.index_at(now_ms)
        parts = [tuple(map(float, fine.ohlcv[i])) for i in range(lo, hi)]
        if hi >= lo >= 0 and hi >= 0:
            fraction = (now_ms - int(fine.open_time[hi])) / fine.timeframe_ms
            o, h, low, c, v = map(float, fine.ohlcv[hi])
            parts.append(partial_candle(o, h, low, c, v, fraction))
        if not parts:
            o = float(series.ohlcv[index][0])
            return o, o, o, o, 0.0
        return (
            parts[0][0],
            max(p[1] for p in parts),
            min(p[2] for p in parts),
            parts[-1][3],
            sum(p[4] for p in parts),
        )

    # --- prices --------------------------------------------------------------------------
    def price(self, pair: str, now_ms: int) -> tuple[float, float]:
        """(price, volume of the current finest candle) at ``now_ms``."""
        series = self.finest(pair)
        i = series.index_at(now_ms)
        if i < 0 or now_ms > series.end:
            raise ReplayDataError(
                f"no {pair} price at {_iso(now_ms)}: the replay data covers "
                f"{_iso(series.first_open)} .. {_iso(series.end)}"
            )
        o, h, low, c, v = map(float, series.ohlcv[i])
        fraction = (now_ms - int(series.open_time[i])) / series.timeframe_ms
        return price_on_path(o, h, low, c, fraction), v

    def touch(self, pair: str, now_ms: int) -> tuple[float, float]:
        """(bid, ask) at ``now_ms``: the price rounded down to the tick grid, and one tick up."""
        price, _ = self.price(pair, now_ms)
        tick = self.tick_size(pair)
        bid = round_down_to_tick(price, tick)
        return bid, round_down_to_tick(bid + tick * 1.5, tick)

    def ticker(self, pair: str, now_ms: int) -> dict[str, Any]:
        """A ccxt ``fetch_ticker`` structure."""
        price, volume = self.price(pair, now_ms)
        bid, ask = self.touch(pair, now_ms)
        return {
            "symbol": pair,
            "timestamp": now_ms,
            "datetime": _iso(now_ms),
            "high": None,
            "low": None,
            "bid": bid,
            "bidVolume": volume,
            "ask": ask,
            "askVolume": volume,
            "vwap": None,
            "open": None,
            "close": price,
            "last": price,
            "previousClose": None,
            "change": None,
            "percentage": None,
            "average": None,
            "baseVolume": volume,
            "quoteVolume": volume * price,
            "info": {},
        }

    def order_book(self, pair: str, now_ms: int, depth: int | None) -> dict[str, Any]:
        """A ccxt ``fetch_l2_order_book`` structure: ``depth`` levels a tick apart each side,
        each as deep as the current candle's volume."""
        _, volume = self.price(pair, now_ms)
        bid, ask = self.touch(pair, now_ms)
        tick = self.tick_size(pair)
        levels = max(1, min(depth or 20, 100))
        amount = max(volume, 1.0)
        return {
            "symbol": pair,
            "bids": [
                [round_down_to_tick(bid - k * tick + tick / 2, tick), amount] for k in range(levels)
            ],
            "asks": [
                [round_down_to_tick(ask + k * tick + tick / 2, tick), amount] for k in range(levels)
            ],
            "timestamp": now_ms,
            "datetime": _iso(now_ms),
            "nonce": None,
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
