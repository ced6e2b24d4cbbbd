"""TripleBarrierMLMeta with an entry threshold inside the range its model predicts on a short
backtest window, and the configured fixed stake instead of Kelly: the backtest then shows which
bets the model refuses by its entry rule alone (P(tp) on BTC's July 2025 bets is about 0.18 to
0.39, below the shipped 0.50; and Kelly would refuse by a stake of 0, not by the signal)."""

from freqtrade.strategy import BooleanParameter, DecimalParameter

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta


class TripleBarrierMLMetaFixedStake(TripleBarrierMLMeta):
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.37, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
