"""The math of tribar's hyperopt loss: daily Sharpe, less a drawdown penalty, with a floor on
the number of trades. Pure functions over Freqtrade's hyperopt results frame.

Lower is better (Freqtrade minimises). The scale, in the order results rank:

* enough trades: ``-daily_sharpe + drawdown_weight * max(0, max_drawdown - drawdown_free)``
  (a few units either side of zero);
* fewer than ``min_trades`` (zero and one included): ``TOO_FEW_TRADES + (min_trades - n)``, so
  such a result never ranks above one with enough trades, and among them more trades is better;
* enough trades but a Sharpe that is not a number (every day flat): ``TOO_FEW_TRADES``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.data.metrics import calculate_max_drawdown
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Freqtrade reports (and exports) only a loss below 100 as a best epoch, so this band is never
# reported as best.
TOO_FEW_TRADES = 1_000.0
DAYS_PER_YEAR = 365


class LossSettings(BaseModel):
    """``tribar.hyperopt_loss`` in the config; every key optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_trades: int = Field(default=20, ge=1)
    # Relative account drawdown (0.10 = 10 %) that costs nothing; each unit above it costs
    # ``drawdown_weight`` units of annualised Sharpe (10: a 20 % drawdown costs 1.0).
    drawdown_free: float = Field(default=0.10, ge=0.0, lt=1.0)
    drawdown_weight: float = Field(default=10.0, ge=0.0)


def loss_settings(config: Mapping[str, Any]) -> LossSettings:
    raw = (config.get("tribar") or {}).get("hyperopt_loss") or {}
    try:
        return LossSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"tribar.hyperopt_loss.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(
            f"config tribar.hyperopt_loss is invalid ({problems}); expected min_trades "
            "(integer >= 1), drawdown_free (ratio in [0, 1), 0.10 = 10 %), drawdown_weight (>= 0)"
        ) from exc


def _utc_day(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    # Freqtrade's dates are UTC; a naive one is read as UTC too.
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.normalize()


def daily_returns(
    results: pd.DataFrame, min_date: datetime, max_date: datetime, starting_balance: float
) -> pd.Series:
    """Realised profit per UTC day over the whole range (days without a close are 0), as a
    share of the balance at the start of that day."""
    days = pd.date_range(_utc_day(min_date), _utc_day(max_date), freq="1D")
    closes = pd.to_datetime(results["close_date"], utc=True).dt.normalize()
    profit = results["profit_abs"].astype(float).groupby(closes).sum().reindex(days, fill_value=0.0)
    balance_before = starting_balance + profit.cumsum().shift(1, fill_value=0.0)
    return profit / balance_before


def daily_sharpe(returns: pd.Series) -> float:
    """Annualised (365 days), population standard deviation; nan when it is undefined."""
    values = returns.to_numpy(dtype=float)
    if len(values) < 2:
        return math.nan
    spread = float(np.std(values))
    if spread == 0.0 or not math.isfinite(spread):
        return math.nan
    return float(np.mean(values)) / spread * math.sqrt(DAYS_PER_YEAR)


def max_relative_drawdown(results: pd.DataFrame, starting_balance: float) -> float:
    """Freqtrade's relative account drawdown of the closed trades (0.2 = 20 %)."""
    if results.empty or not (results["profit_abs"] < 0).any():
        return 0.0
    drawdown = calculate_max_drawdown(
        results, value_col="profit_abs", starting_balance=starting_balance, relative=True
    )
    return float(drawdown.relative_account_drawdown)


def sharpe_drawdown_loss(
    results: pd.DataFrame,
    trade_count: int,
    min_date: datetime,
    max_date: datetime,
    starting_balance: float,
    settings: LossSettings,
) -> float:
    if trade_count < settings.min_trades or results.empty:
        return TOO_FEW_TRADES + (settings.min_trades - min(trade_count, settings.min_trades))
    if not math.isfinite(starting_balance) or starting_balance <= 0:
        raise ValueError(f"starting balance must be a positive number, got {starting_balance!r}")
    sharpe = daily_sharpe(daily_returns(results, min_date, max_date, starting_balance))
    if not math.isfinite(sharpe):
        return TOO_FEW_TRADES
    drawdown = max_relative_drawdown(results, starting_balance)
    penalty = settings.drawdown_weight * max(0.0, drawdown - settings.drawdown_free)
    return -sharpe + penalty
