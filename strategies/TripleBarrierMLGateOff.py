"""TripleBarrierML trading on the same models with the edge gate off — a backtest comparison arm.

Run it next to the shipped strategy in one backtest, so both see the same trained models:

    tribar ft backtesting -c config.json --strategy-list TripleBarrierML TripleBarrierMLGateOff

The first strategy trains (FreqAI saves the models and their backtest predictions); the second
reuses those predictions. Every model writes ``tp_gate_off`` in backtests: its calibrated
P(take-profit) whether or not it passed the edge gate, i.e. what ``freqai.tribar.edge_gate_z:
null`` would have traded on, without training twice. ``tribar demo`` prints both side by side.

Live FreqAI does not write that column, so this strategy refuses to run outside backtests; to
trade without the gate, set ``edge_gate_z`` to null for TripleBarrierML.
"""

from __future__ import annotations

from typing import ClassVar

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from pandas import DataFrame

from tribar.ml.barrier_classifier import TAKE_PROFIT_GATE_OFF
from tribar.strategies.TripleBarrierML import TripleBarrierML


class TripleBarrierMLGateOff(TripleBarrierML):
    probability_column: ClassVar[str] = TAKE_PROFIT_GATE_OFF

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        if self.dp.runmode in (RunMode.DRY_RUN, RunMode.LIVE):
            raise OperationalException(
                "TripleBarrierMLGateOff is a backtest comparison; to trade without the edge gate "
                "set freqai.tribar.edge_gate_z to null for TripleBarrierML"
            )
        analysed = super().populate_indicators(dataframe, metadata)
        if TAKE_PROFIT_GATE_OFF not in analysed:
            raise OperationalException(
                f"{metadata['pair']}: FreqAI's predictions have no '{TAKE_PROFIT_GATE_OFF}' "
                "column; they were saved by an older model version. Use a new "
                "freqai.identifier (or delete its backtesting_predictions folder)."
            )
        return analysed
