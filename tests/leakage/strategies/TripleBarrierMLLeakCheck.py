"""TripleBarrierML opened up so a short range has enough trades for the leakage checks.

Same features, model, labels and exits as ``TripleBarrierML``. Differences, all on the entry
side: permissive thresholds and no regime filter (as ``TripleBarrierMLAnySignal``), and the
configured fixed stake instead of Kelly sizing, because Kelly refuses to stake when the
calibrated probability has no positive edge, which would leave no trades to compare.
"""

from freqtrade.strategy import BooleanParameter, DecimalParameter

from tribar.strategies.TripleBarrierML import TripleBarrierML


class TripleBarrierMLLeakCheck(TripleBarrierML):
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.2, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_regime_filter = BooleanParameter(default=False, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
