"""Micro-benchmark of the per-candle risk calls (run: .venv/bin/python bench/bench_risk_sizing.py).

The entry decision runs once per entry signal inside Freqtrade's loop and the ATR
baseline once per pair and candle refresh; all should be far below a millisecond / a second.
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tribar.risk import EntryRequest, RiskLimits, RiskManager, rolling_baseline_atr

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def main() -> None:
    manager = RiskManager(RiskLimits())
    exposure = {"ETH/USDT": 80.0, "SOL/USDT": 60.0, "XRP/USDT": 40.0}
    entries = [NOW - timedelta(minutes=m) for m in (5, 20, 50, 70)]
    atr = pd.Series(np.random.default_rng(0).lognormal(0.0, 0.3, 50_000))

    request = EntryRequest(
        pair="BTC/USDT", time=NOW, price=100.0, probability=0.58, atr=1.1, atr_baseline=1.0,
        k_tp=3.0, k_sl=1.5, fee=0.001, signal_time=NOW - timedelta(hours=1),
        timeframe=timedelta(hours=1), equity=1000.0, open_exposure=exposure,
        recent_entry_times=entries, closed_profit_ratios=[0.02, -0.01] * 50,
        min_stake=5.0, max_stake=900.0,
    )  # fmt: skip

    calls = 20_000
    decide_s = timeit.timeit(lambda: manager.decide(request), number=calls)
    baseline_s = timeit.timeit(lambda: rolling_baseline_atr(atr, 336), number=5) / 5
    print(f"decide               {decide_s / calls * 1e6:8.1f} us/call")
    print(f"rolling_baseline_atr {baseline_s * 1e3:8.1f} ms per 50k candles")


if __name__ == "__main__":
    main()
