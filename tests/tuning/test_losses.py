"""tribar's hyperopt loss on constructed Freqtrade results frames (tribar.tuning.losses)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tribar.tuning.losses import (
    TOO_FEW_TRADES,
    LossSettings,
    daily_returns,
    loss_settings,
    max_relative_drawdown,
    sharpe_drawdown_loss,
)

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 3, 1, tzinfo=UTC)
SETTINGS = LossSettings(min_trades=5, drawdown_free=0.10, drawdown_weight=10.0)


def trades(profits: list[float], every_hours: int = 24) -> pd.DataFrame:
    closes = [START + timedelta(hours=every_hours * (i + 1)) for i in range(len(profits))]
    return pd.DataFrame({"close_date": pd.to_datetime(closes, utc=True), "profit_abs": profits})


def loss(frame: pd.DataFrame, s: LossSettings = SETTINGS, balance: float = 1000.0) -> float:
    return sharpe_drawdown_loss(frame, len(frame), START, END, balance, s)


def test_zero_and_one_trade_never_rank_above_a_losing_result_with_enough_trades() -> None:
    losing = loss(trades([-5.0, 1.0, -5.0, 1.0, -5.0, 1.0]))
    assert math.isfinite(losing) and losing < TOO_FEW_TRADES
    assert loss(trades([])) > losing
    assert loss(trades([50.0])) > losing  # one big winner: no Sharpe to speak of
    assert loss(trades([])) > loss(trades([50.0]))  # more trades is better among too few


def test_steady_winners_beat_noisy_ones_with_the_same_total() -> None:
    steady = trades([2.0] * 10 + [-0.5] * 2)
    noisy = trades([12.0, -8.0, 11.0, -9.0, 12.0, -8.0, 11.0, -9.0, 12.0, -8.0, 11.0, -8.0])
    assert steady["profit_abs"].sum() == pytest.approx(noisy["profit_abs"].sum())
    assert loss(steady) < loss(noisy)


def test_the_drawdown_penalty_starts_above_the_free_drawdown() -> None:
    # The same days and profits; only the order differs, so only the drawdown changes.
    calm = trades([60.0, -40.0] * 5 + [60.0] * 3 + [30.0] * 4)
    deep = trades([-40.0] * 5 + [60.0] * 8 + [30.0] * 4)
    dd_deep = max_relative_drawdown(deep, 1000.0)
    assert dd_deep == pytest.approx(0.20)  # five losses of 40 from 1000
    no_penalty = LossSettings(min_trades=5, drawdown_free=0.10, drawdown_weight=0.0)
    penalty = loss(deep) - loss(deep, no_penalty)
    assert penalty == pytest.approx(10.0 * (0.20 - 0.10))
    assert max_relative_drawdown(calm, 1000.0) < dd_deep


def test_daily_returns_cover_every_day_and_compound_the_balance() -> None:
    frame = trades([100.0, -55.0])
    returns = daily_returns(frame, START, END, 1000.0)
    assert len(returns) == (END - START).days + 1
    assert returns.iloc[1] == pytest.approx(0.10)
    assert returns.iloc[2] == pytest.approx(-0.05)  # of 1100, not of 1000
    assert (returns.drop(returns.index[[1, 2]]) == 0).all()


def test_flat_days_give_the_too_few_score_not_a_crash() -> None:
    frame = trades([0.0] * 10)
    assert loss(frame) == TOO_FEW_TRADES


def test_settings_come_from_the_config_with_a_clear_error() -> None:
    assert loss_settings({}) == LossSettings()
    assert loss_settings({"tribar": {"hyperopt_loss": {"min_trades": 3}}}).min_trades == 3
    with pytest.raises(ValueError, match=r"tribar\.hyperopt_loss\.drawdown_free.*0\.10 = 10 %"):
        loss_settings({"tribar": {"hyperopt_loss": {"drawdown_free": 15}}})
    with pytest.raises(ValueError, match=r"tribar\.hyperopt_loss\.min_trade"):
        loss_settings({"tribar": {"hyperopt_loss": {"min_trade": 3}}})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=0, max_size=40),
    st.integers(1, 30),
)
def test_the_loss_is_finite_and_too_few_trades_always_rank_last(
    profits: list[float], min_trades: int
) -> None:
    s = LossSettings(min_trades=min_trades)
    value = loss(trades(profits, every_hours=30), s)
    assert math.isfinite(value)
    if len(profits) < min_trades:
        assert value >= TOO_FEW_TRADES
    else:
        # With enough trades a Sharpe-based score stays far below the too-few band.
        assert value <= TOO_FEW_TRADES
    assert not np.isnan(value)
