"""A deliberately leaky TripleBarrierMLLeakCheck: one feature reads the close two candles ahead.

Only used to show that the row-level leakage checks catch a real lookahead. Never trade it.
"""

from typing import Any

from pandas import DataFrame

from tribar.strategies.TripleBarrierML import TripleBarrierML

# tests/leakage/_support.py names this column too.
PLANTED_FEATURE = "%-planted_future_return"


class TripleBarrierMLPlantedLeak(TripleBarrierML):
    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        dataframe[PLANTED_FEATURE] = dataframe["close"].shift(-2) / dataframe["close"] - 1
        return dataframe
