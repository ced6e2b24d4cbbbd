"""The figures ``tribar demo`` compares: each strategy of the backtest and buy-and-hold.

All from the run's own files, with tribar evaluate's definitions: equity is mark-to-market
(Freqtrade's per-candle wallet snapshots, ``tribar.evaluate.metrics``), buy-and-hold is the
equal-weight holding of the same pairs valued the same way (``tribar.evaluate.baselines``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from tribar.analysis.analytics import performance as perf
from tribar.evaluate.baselines import buy_and_hold
from tribar.evaluate.metrics import load_result
from tribar.evaluate.setup import RunSetup


@dataclass(frozen=True)
class ArmFigures:
    label: str
    trades: int
    total_return: float  # fraction of the starting balance, at the end of the range
    max_drawdown: float  # mark-to-market, fraction of the peak (0.25 = 25 %)
    profit_factor: float  # NaN without trades, inf without losses


def figures(label: str, equity: pd.Series, trade_pnl: pd.Series) -> ArmFigures:
    return ArmFigures(
        label=label,
        trades=len(trade_pnl),
        total_return=float(equity.iloc[-1] / equity.iloc[0] - 1.0),
        max_drawdown=perf.max_drawdown(equity)[0],
        profit_factor=perf.profit_factor(trade_pnl),
    )


def strategy_figures(
    label: str, result: Path, strategy: str, start: datetime, end: datetime
) -> ArmFigures:
    loaded = load_result(result, strategy, start, end)
    pnl = loaded.trades["profit_abs"] if len(loaded.trades) else pd.Series(dtype=float)
    return figures(label, loaded.equity, pnl)


def buy_and_hold_figures(label: str, setup: RunSetup) -> ArmFigures:
    """Each pair's holding counts as one trade (bought at the first open, valued at the end)."""
    equity, holdings = buy_and_hold(setup, setup.datadir)
    return figures(label, equity, holdings["profit_abs"])
