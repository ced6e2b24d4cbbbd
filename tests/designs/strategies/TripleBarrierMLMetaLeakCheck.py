"""TripleBarrierMLMeta opened up so a short range has enough meta trades for the leakage checks.

Same primary, features, labels (primary bets only), model and exits as ``TripleBarrierMLMeta``;
like tests/leakage's ``TripleBarrierMLLeakCheck``, permissive thresholds and the configured fixed
stake, so the model's verdicts on the primary's bets still gate every entry but rarely refuse.
The regime filter stays on: it is part of the primary (labels and entries) and its daily merge
is exactly what a lookahead check should see.
"""

from freqtrade.strategy import BooleanParameter, DecimalParameter

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta


class TripleBarrierMLMetaLeakCheck(TripleBarrierMLMeta):
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.2, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
