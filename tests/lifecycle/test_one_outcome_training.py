"""A training block holding only one outcome (no take-profit at all) gives no model, not a
crash: LightGBM would fit one class and have no P(take-profit) column, and FreqAI's own
fallback for a failed training then crashed the backtest (seen on 4h candles, 60-day windows)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.lifecycle.conftest import PAIR, predict, train, window
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, BarrierClassifier


def test_a_training_block_without_a_take_profit_stays_untrained(
    config: dict[str, Any], series: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    frame = window(series, 0)
    # Take-profits only in the last fifth (validation and calibration): none to train on.
    head = int(len(frame) * 0.8)
    frame.loc[: head - 1, "&-tb"] = NO_TAKE_PROFIT
    assert (frame["&-tb"].iloc[head:] != NO_TAKE_PROFIT).any()
    with caplog.at_level(logging.WARNING):
        trained = train(config, frame)
    assert isinstance(trained.model, BarrierClassifier) and trained.model.booster is None
    assert any(
        f"{PAIR}: not trained" in r.getMessage() and "need both outcomes" in r.getMessage()
        for r in caplog.records
    )
    # The bot keeps running and trades nothing from it: NaN, never a guess.
    p = predict(trained.freqai, frame.tail(50))
    assert bool(np.isnan(p.to_numpy()).all())


def test_a_window_with_a_single_labelled_row_stays_untrained(
    config: dict[str, Any], series: pd.DataFrame
) -> None:
    """A sparse primary (meta-labelling) can leave one labelled row in a window: the model stays
    untrained and answers NaN, as for any window under min_training_rows."""
    frame = window(series, 0)
    frame.loc[1:, "&-tb"] = np.nan
    trained = train(config, frame)
    assert isinstance(trained.model, BarrierClassifier) and trained.model.booster is None
    assert "1 labelled training rows" in trained.model.metrics["untrained"]
    p = predict(trained.freqai, frame.tail(50))
    assert bool(np.isnan(p.to_numpy()).all())
