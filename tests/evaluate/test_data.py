"""Derived candles equal Binance's own 4h/1d candles; the data directory is symlinks + derived."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tribar.evaluate.data import aggregate_candles, pair_file, prepare_datadir
from tribar.evaluate.setup import BASE_CONFIG, BUNDLED_DATA, STANDARD


def hourly(n: int, start: str = "2025-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=n, freq="1h", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": rng.uniform(1, 10, n),
        }
    )


def test_bundle_holds_the_standard_setup() -> None:
    """The standard evaluation reads only files that ship with the repository (docs/data.md):
    its 14 pairs at 1h/4h/1d as Binance published them (no NEAR 4h), through the end of the test
    range, with training history before it: config.json's training window for the 1h candles
    (labels and the traded timeframe), at least the baseline schedule's for every file."""
    expected = {
        pair_file(pair, timeframe)
        for pair in STANDARD.pairs
        for timeframe in ("1h", "4h", "1d")
        if (pair, timeframe) != ("NEAR/USDT", "4h")
    }
    assert {f.name for f in BUNDLED_DATA.glob("*.feather")} == expected
    start = pd.Timestamp(STANDARD.start)
    config_days = json.loads(BASE_CONFIG.read_text())["freqai"]["train_period_days"]
    baseline_days = STANDARD.baseline_schedule.train_days
    for name in sorted(expected):
        dates = pd.read_feather(BUNDLED_DATA / name, columns=["date"])["date"]
        days = config_days if name.endswith("-1h.feather") else baseline_days
        assert dates.min() <= start - pd.Timedelta(days=days), name
        assert dates.max() >= pd.Timestamp(STANDARD.end) - pd.Timedelta(days=1), name
        assert dates.is_monotonic_increasing and dates.is_unique, name


def test_aggregate_candles_by_hand() -> None:
    # 01:00 start: the 00:00-04:00 candle is incomplete and dropped; 04:00-08:00 is complete.
    h = hourly(8, start="2025-01-01 01:00")
    four = aggregate_candles(h, "4h")
    assert list(four["date"]) == [pd.Timestamp("2025-01-01 04:00", tz="UTC")]
    block = h.iloc[3:7]
    row = four.iloc[0]
    assert row["open"] == block["open"].iloc[0]
    assert row["high"] == block["high"].max()
    assert row["low"] == block["low"].min()
    assert row["close"] == block["close"].iloc[-1]
    assert row["volume"] == pytest.approx(block["volume"].sum())


# Every combination Binance published (NEAR 4h is the one file the evaluation must derive).
@pytest.mark.parametrize(
    ("pair", "timeframe"),
    [("BTC/USDT", "4h"), ("BTC/USDT", "1d"), ("AVAX/USDT", "4h"), ("AVAX/USDT", "1d"),
     ("NEAR/USDT", "1d")],
)  # fmt: skip
def test_derived_candles_equal_binance_candles(pair: str, timeframe: str) -> None:
    reference_file = BUNDLED_DATA / pair_file(pair, timeframe)
    derived = aggregate_candles(pd.read_feather(BUNDLED_DATA / pair_file(pair, "1h")), timeframe)
    reference = pd.read_feather(reference_file)
    joined = reference.merge(derived, on="date", suffixes=("", "_derived"))
    assert len(joined) == len(reference)  # every Binance candle has its derived twin
    for column in ("open", "high", "low", "close"):
        assert (joined[column] == joined[f"{column}_derived"]).all(), column
    np.testing.assert_allclose(joined["volume"], joined["volume_derived"], rtol=1e-12)


def test_prepare_datadir_links_present_files_and_derives_missing(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    h = hourly(48)
    h.to_feather(source / "BTC_USDT-1h.feather")
    aggregate_candles(h, "1d").to_feather(source / "BTC_USDT-1d.feather")
    target = tmp_path / "target"

    prepared = prepare_datadir(source, target, ["BTC/USDT"], ["1h", "4h", "1d"])

    assert prepared.derived == ("BTC_USDT-4h.feather",)
    assert (target / "BTC_USDT-1h.feather").is_symlink()
    assert (target / "BTC_USDT-1d.feather").is_symlink()
    assert not (target / "BTC_USDT-4h.feather").is_symlink()
    pd.testing.assert_frame_equal(
        pd.read_feather(target / "BTC_USDT-4h.feather"), aggregate_candles(h, "4h")
    )
    # Idempotent: a second preparation replaces, never duplicates or fails.
    again = prepare_datadir(source, target, ["BTC/USDT"], ["1h", "4h", "1d"])
    assert again.derived == prepared.derived
