"""``TripleBarrierMLMetaLeakCheck`` on the Donchian breakout-position primary. Its state is carried
forward from the last breakout or breakdown (the one path-dependent primary), so Freqtrade's
recursive-analysis, which varies the startup candles, checks it too."""

from freqtrade.strategy import BooleanParameter, CategoricalParameter, DecimalParameter

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta


class TripleBarrierMLMetaDonchianLeakCheck(TripleBarrierMLMeta):
    primary_signal = CategoricalParameter(
        ["tsmom", "donchian"], default="donchian", space="buy", optimize=False
    )
    entry_threshold = DecimalParameter(0.0, 1.0, default=0.2, decimals=2, space="buy")
    min_edge = DecimalParameter(-1.0, 1.0, default=-1.0, decimals=3, space="buy")
    use_kelly_sizing = BooleanParameter(default=False, space="buy", optimize=False)
