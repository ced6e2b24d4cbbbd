"""The primary of TripleBarrierMLMeta trading alone on the same models: every bet, fixed stakes
(the evaluation's ``primary-tsmom`` arm as a class, so one backtest runs both)."""

from freqtrade.strategy import BooleanParameter

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta


class TripleBarrierMLMetaPrimaryAlone(TripleBarrierMLMeta):
    use_meta_label = BooleanParameter(default=False, space="buy", optimize=False)
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
