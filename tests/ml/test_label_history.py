"""The per-pair take-profit history behind the no-edge forecast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tribar.ml.label_history import TakeProfitHistory


def dates(start: str, n: int) -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq="1h", tz="UTC"))


def test_windows_accumulate_and_a_re_seen_date_is_counted_once(tmp_path: Path) -> None:
    history = TakeProfitHistory(tmp_path)
    history.record("BTC/USDT", dates("2025-01-01", 100), np.zeros(100))
    # The next window overlaps the first by 50 rows.
    merged = history.record("BTC/USDT", dates("2025-01-03 02:00", 100), np.ones(100))
    assert len(merged) == 150 and merged.index.is_monotonic_increasing
    assert merged.sum() == 100  # the overlap takes the newer labels
    # Persisted: a new instance (a restarted bot) sees the same history.
    assert TakeProfitHistory(tmp_path).load("BTC/USDT").equals(merged)
    assert TakeProfitHistory(tmp_path).load("ETH/USDT").empty


def test_rate_counts_only_labels_known_before_the_cut(tmp_path: Path) -> None:
    history = TakeProfitHistory(tmp_path)
    y = np.r_[np.zeros(30), np.ones(10)]
    merged = history.record("ETH/USDT", dates("2025-02-01", 40), y)
    cut = merged.index[30]
    assert TakeProfitHistory.rate(merged, cut) == (0.0, 30)
    assert TakeProfitHistory.rate(merged, merged.index[-1] + pd.Timedelta("1h")) == (0.25, 40)
    rate, n = TakeProfitHistory.rate(merged, merged.index[0])
    assert np.isnan(rate) and n == 0


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "BTC_USDT.feather").write_text("not feather")
    with pytest.raises(ValueError, match=r"BTC_USDT\.feather.*date, take_profit"):
        TakeProfitHistory(tmp_path).load("BTC/USDT")
