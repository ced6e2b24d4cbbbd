"""Keep the date column of live FreqAI's in-memory candle history a datetime column.

A live bot's FreqAI keeps each pair's candles per timeframe in memory
(``FreqaiDataDrawer.historic_data``) and appends the data provider's new candles every loop
(``update_historic_data``). The history read from feather files has dates in another time zone
object and resolution than the data provider's (zoneinfo ``UTC`` vs ``datetime.timezone.utc``),
and pandas 3 concatenates those into an *object* column. A retraining merges the timeframes on
that column, and fails ("You are trying to merge on object and datetime64[us, UTC] columns for key
'date'") while any timeframe has had no new candle since the start: the 1d one, for up to a day.
So a bot retraining within a day of its start (``live_retrain_hours`` under 24, or a model due
soon after a restart) failed every loop until midnight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)


def datetime_dates(historic_data: dict[str, dict[str, pd.DataFrame]]) -> int:
    """Parse every object ``date`` column in place (UTC); the number of frames changed."""
    changed = 0
    for pair, frames in historic_data.items():
        for timeframe, frame in frames.items():
            if "date" in frame.columns and frame["date"].dtype == object:
                try:
                    frame["date"] = pd.to_datetime(frame["date"], utc=True)
                except (ValueError, TypeError) as exc:
                    # Freqtrade's loop stops on anything but a StrategyError here; a frame left
                    # as it was only fails that pair's next retraining, which FreqAI logs.
                    logger.error("%s %s: FreqAI's candle history has dates pandas cannot "
                                 "parse (%s); left as they are", pair, timeframe, exc)  # fmt: skip
                    continue
                changed += 1
    return changed


def update_historic_data_keeping_dates(
    original: Callable[[Any, Any], None], dd: Any
) -> Callable[[Any, Any], None]:
    """Wrap ``FreqaiDataDrawer.update_historic_data``: append as FreqAI does, then parse dates."""

    def update_historic_data(strategy: Any, dk: Any) -> None:
        original(strategy, dk)
        with dd.history_lock:
            datetime_dates(dd.historic_data)

    return update_historic_data
