"""Micro-benchmark of the per-candle risk calls (run: .venv/bin/python bench/bench_risk_sizing.py).

The sizing and entry checks run once per entry signal inside Freqtrade's loop and the ATR
baseline once per pair and candle refresh; all should be far below a millisecond / a second.
"""

from __future__ import annotations

import timeit
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from tribar.risk import RiskLimits, RiskManager, rolling_baseline_atr

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def main() -> None:
    manager = RiskManager(RiskLimits())
    exposure = {"ETH/USDT": 80.0, "SOL/USDT": 60.0, "XRP/USDT": 40.0}
    entries = [NOW - timedelta(minutes=m) for m in (5, 20, 50, 70)]
    atr = pd.Series(np.random.default_rng(0).lognormal(0.0, 0.3, 50_000))

    calls = 20_000
    stake_s = timeit.timeit(
        lambda: manager.stake_for_entry(
            "BTC/USDT", 0.58, 1.4, 1.1, 1.0, 1000.0, exposure, 5.0, 900.0
        ),
        number=calls,
    )
    check_s = timeit.timeit(lambda: manager.check_entry("BTC/USDT", NOW, entries), number=calls)
    baseline_s = timeit.timeit(lambda: rolling_baseline_atr(atr, 336), number=5) / 5
    print(f"stake_for_entry      {stake_s / calls * 1e6:8.1f} us/call")
    print(f"check_entry          {check_s / calls * 1e6:8.1f} us/call")
    print(f"rolling_baseline_atr {baseline_s * 1e3:8.1f} ms per 50k candles")


if __name__ == "__main__":
    main()
