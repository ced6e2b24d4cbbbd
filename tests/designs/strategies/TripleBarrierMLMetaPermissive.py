"""TripleBarrierMLMeta taking every primary bet its model predicts on (any P, any edge) with
the configured fixed stake: a short replayed bot then trades, and every entry is still a
primary bet that passed the model's own checks (do_predict)."""

from freqtrade.strategy import BooleanParameter, DecimalParameter

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta


class TripleBarrierMLMetaPermissive(TripleBarrierMLMeta):
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.0, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
