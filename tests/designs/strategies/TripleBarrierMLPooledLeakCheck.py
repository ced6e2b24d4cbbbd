"""TripleBarrierMLPooled opened up as ``TripleBarrierMLLeakCheck`` is (permissive entries, no
regime filter, fixed stake), so a short range has trades for Freqtrade's lookahead-analysis."""

from freqtrade.strategy import BooleanParameter, DecimalParameter

from tribar.strategies.TripleBarrierMLPooled import TripleBarrierMLPooled


class TripleBarrierMLPooledLeakCheck(TripleBarrierMLPooled):
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.2, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_regime_filter = BooleanParameter(default=False, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
