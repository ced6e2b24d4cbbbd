"""Equity, daily returns and trade figures from a backtest; buy-and-hold."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tribar.analysis.analytics import performance as perf
from tribar.evaluate.baselines import buy_and_hold
from tribar.evaluate.data import pair_file
from tribar.evaluate.metrics import daily_equity, performance, sharpe_standard_error
from tribar.evaluate.setup import RunSetup

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 11, tzinfo=UTC)


def hourly_equity(values: list[float]) -> pd.Series:
    index = pd.date_range(START, periods=len(values), freq="1h", tz="UTC")
    return pd.Series(values, index=index, dtype=float)


def test_daily_equity_samples_midnight_and_keeps_both_ends() -> None:
    equity = pd.concat(
        [
            hourly_equity(list(range(100, 100 + 48))),  # 2 days of hourly snapshots
            pd.Series([500.0], index=[pd.Timestamp("2025-01-03 00:00", tz="UTC")]),
        ]
    )
    daily = daily_equity(equity)
    assert list(daily.index) == list(pd.date_range(START, periods=3, freq="1D", tz="UTC"))
    assert list(daily) == [100.0, 124.0, 500.0]


def test_daily_equity_off_grid_end_is_appended() -> None:
    equity = hourly_equity([100.0] * 30)  # ends 2025-01-02 05:00
    daily = daily_equity(equity)
    assert daily.index[-1] == equity.index[-1]
    assert len(daily) == 3  # 01-01 00:00, 01-02 00:00, 01-02 05:00


def test_performance_figures_by_hand() -> None:
    days = pd.date_range(START, END, freq="1D", tz="UTC")
    values = [1000, 1010, 1005, 1020, 990, 1000, 1030, 1040, 1020, 1050, 1060]
    equity = pd.Series(values, index=days, dtype=float)
    trades = pd.DataFrame(
        {
            "open_date": pd.to_datetime(["2025-01-02 00:00", "2025-01-05 00:00"], utc=True),
            "close_date": pd.to_datetime(["2025-01-03 00:00", "2025-01-06 12:00"], utc=True),
            "profit_abs": [30.0, -10.0],
            "profit_ratio": [0.03, -0.01],
        }
    )
    p = performance(equity, trades, START, END)
    returns = pd.Series(values).pct_change().dropna()
    assert p.days == 10
    assert p.trades == 2
    assert p.win_rate == 0.5
    assert (p.avg_win, p.avg_loss) == (0.03, -0.01)
    assert p.profit_factor == 3.0
    assert p.total_return == pytest.approx(0.06)
    assert p.sharpe == pytest.approx(returns.mean() / returns.std(ddof=0) * math.sqrt(365))
    assert p.max_drawdown == pytest.approx(1 - 990 / 1020)
    assert p.exposure == pytest.approx(2.5 / 10)
    assert p.psr == pytest.approx(perf.probabilistic_sharpe_ratio(returns))
    assert p.sharpe_ci[0] < p.sharpe < p.sharpe_ci[1]
    assert p.final_equity == 1060.0


def test_performance_without_trades_is_flat() -> None:
    days = pd.date_range(START, END, freq="1D", tz="UTC")
    p = performance(pd.Series(1000.0, index=days), pd.DataFrame(), START, END)
    assert (p.trades, p.total_return, p.max_drawdown, p.exposure) == (0, 0.0, 0.0, 0.0)
    assert math.isnan(p.sharpe) and math.isnan(p.profit_factor) and math.isnan(p.win_rate)


def test_sharpe_standard_error_matches_the_normal_formula() -> None:
    # For normal returns SE^2 ~ (1 + SR^2 / 2) / (n - 1) per period (Lo 2002).
    rng = np.random.default_rng(3)
    r = pd.Series(rng.normal(0.001, 0.02, 20_000))
    sr = r.mean() / r.std(ddof=1)
    expected = math.sqrt((1 + sr**2 / 2) / (len(r) - 1) * 365)
    assert sharpe_standard_error(r) == pytest.approx(expected, rel=0.02)
    assert math.isnan(sharpe_standard_error(pd.Series([0.0] * 10)))


def write_pair(datadir: Path, pair: str, opens: list[float], last_close: float) -> None:
    dates = pd.date_range(START, periods=len(opens), freq="1h", tz="UTC")
    closes = [*opens[1:], last_close]
    pd.DataFrame(
        {"date": dates, "open": opens, "high": opens, "low": opens, "close": closes,
         "volume": 1.0}
    ).to_feather(datadir / pair_file(pair, "1h"))  # fmt: skip


def test_buy_and_hold_equal_weight_with_entry_fee(tmp_path: Path) -> None:
    write_pair(tmp_path, "AAA/USDT", [10.0, 20.0, 20.0], last_close=30.0)
    write_pair(tmp_path, "BBB/USDT", [5.0, 5.0, 2.5], last_close=2.5)
    setup = RunSetup(
        "t", ("AAA/USDT", "BBB/USDT"), tmp_path, "20250101-20250102", fee=0.01, wallet=1000.0
    )
    equity, trades = buy_and_hold(setup, tmp_path)
    per_pair = 500 / 1.01
    assert list(equity.index[:3]) == list(pd.date_range(START, periods=3, freq="1h", tz="UTC"))
    assert equity.index[-1] == pd.Timestamp(setup.end)
    assert equity.iloc[0] == 1000.0  # cash before buying
    assert equity.iloc[1] == pytest.approx(per_pair * 2 + per_pair * 1)
    assert equity.iloc[2] == pytest.approx(per_pair * 2 + per_pair * 0.5)
    assert equity.iloc[-1] == pytest.approx(per_pair * 3 + per_pair * 0.5)
    assert list(trades["profit_ratio"]) == pytest.approx([3 / 1.01 - 1, 0.5 / 1.01 - 1])
