"""``--hyperopt-loss TribarSharpeDrawdownLoss``: daily Sharpe less a drawdown penalty, with a
minimum trade count (``tribar.hyperopt_loss`` in the config; see docs/tuning.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.optimize.hyperopt import IHyperOptLoss
from pandas import DataFrame

from tribar.tuning.losses import loss_settings, sharpe_drawdown_loss


class TribarSharpeDrawdownLoss(IHyperOptLoss):
    @staticmethod
    def hyperopt_loss_function(
        *,
        results: DataFrame,
        trade_count: int,
        min_date: datetime,
        max_date: datetime,
        config: dict[str, Any],
        starting_balance: float,
        **kwargs: Any,
    ) -> float:
        return sharpe_drawdown_loss(
            results, trade_count, min_date, max_date, starting_balance, loss_settings(config)
        )
