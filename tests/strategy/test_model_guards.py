"""Guards of the FreqAI model: missing features never predict; failed windows answer NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT, BarrierClassifier
from tribar.ml.freqai_model import mask_rows_with_missing_features, three_block_split


def test_rows_with_missing_features_get_no_prediction() -> None:
    features = pd.DataFrame({"%-a": [1.0, np.nan, 3.0, 4.0], "%-b": [0.1, 0.2, np.inf, 0.4]})
    predictions = pd.DataFrame(
        {
            "&-tb": ["tp", "tp", "no_tp", "tp"],
            TAKE_PROFIT: [0.6, 0.7, 0.2, 0.9],
            NO_TAKE_PROFIT: [0.4, 0.3, 0.8, 0.1],
        }
    )
    masked, do_predict = mask_rows_with_missing_features(
        features, predictions, np.array([1, 1, 1, 0]), [TAKE_PROFIT, NO_TAKE_PROFIT]
    )
    assert do_predict.tolist() == [1, 0, 0, 0]
    assert masked[TAKE_PROFIT].isna().tolist() == [False, True, True, False]
    assert masked.loc[0, TAKE_PROFIT] == 0.6 and predictions.loc[1, TAKE_PROFIT] == 0.7


def test_untrained_model_answers_nan_never_a_probability() -> None:
    model = BarrierClassifier.untrained("too few rows", ["%-a"])
    proba = model.predict_proba(np.zeros((3, 1)))
    assert proba.shape == (3, 2) and np.isnan(proba).all()


def test_three_blocks_are_ordered_and_purged() -> None:
    horizon, embargo = 24, 24
    train, val, cal = three_block_split(2000, horizon, 0.2, 0.2, embargo)
    assert train.max() + horizon + embargo < val.min()
    assert val.max() + horizon + embargo < cal.min()
    assert len(cal) == 400 and len(val) > 300 and len(train) > 1000
