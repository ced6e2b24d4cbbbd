"""TripleBarrierML as a meta-labelling model over a primary long-only trend signal (issue 15).

Meta-labelling (López de Prado, *Advances in Financial ML*, ch. 3.6): a simple primary model
picks side and timing; the triple-barrier classifier is trained only on the primary's own bets
and decides which of them to take and, through its calibrated probability and Kelly, how big.

* Primary (``tribar.designs.primary_signals``, closed candles only): ``primary_signal`` =
  ``tsmom`` (close above the close ``tsmom_lookback`` candles ago) or ``donchian`` (on from a
  close above the highest high of the previous ``donchian_lookback`` candles until a close below
  the lowest low of the previous ``donchian_exit_lookback``; 0: the breakout candles only), while
  BTC is above its daily EMA (the shipped strategy never enters against that regime, so such a
  candle is no bet).
* Labels (``set_freqai_targets``): the parent's triple-barrier labels on the primary's bets, NaN
  everywhere else, so FreqAI trains on the bets only. The training rows always include the
  regime, whatever ``use_regime_filter`` says: that parameter acts on entries only (as for the
  parent, and as ``tribar.evaluate.variants.ENTRY_ONLY_PARAMS`` and FreqAI hyperopt, which reuse
  trained models, assume); off, the trend rule alone picks the entries.
* Entry: the primary fires and, with ``use_meta_label`` (default), the parent's conditions hold
  (outlier checks, P(take-profit) >= ``entry_threshold``, edge > ``min_edge``). With
  ``use_meta_label`` false the primary alone trades (the evaluation's primary-alone arm, with
  ``use_kelly_sizing`` false: Freqtrade's fixed ``stake_amount``).
* Exits, sizing and risk: the parent's (barrier exits, ``RiskManager.decide``).

Run: ``tribar ft backtesting -c config.json --strategy TripleBarrierMLMeta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from freqtrade.strategy import (
    BooleanParameter,
    CategoricalParameter,
    IntParameter,
)
from pandas import DataFrame

from tribar.designs.primary_signals import (
    DEFAULT_DONCHIAN_EXIT_LOOKBACK,
    DEFAULT_DONCHIAN_LOOKBACK,
    DEFAULT_TSMOM_LOOKBACK,
    PrimarySignal,
    donchian_distance,
    momentum_return,
    primary_signal,
)
from tribar.regime import regime_from_daily
from tribar.strategies.TripleBarrierML import KEY_P, LABEL, TripleBarrierML

KEY_PRIMARY = "tribar_primary_on"


class TripleBarrierMLMeta(TripleBarrierML):
    # The longest momentum look-back (30 days of 1h candles; more than the parent's 400 for the
    # risk layer's ATR baseline): no candle is judged on a look-back it has not loaded.
    startup_candle_count = 30 * 24

    # Which primary and its look-backs decide the training rows, so they are model parameters
    # (a change means retraining), never hyperopted: FreqAI hyperopt reuses the trained models.
    primary_signal = CategoricalParameter(
        ["tsmom", "donchian"], default="tsmom", space="buy", optimize=False
    )
    tsmom_lookback = IntParameter(
        14 * 24, 30 * 24, default=DEFAULT_TSMOM_LOOKBACK, space="buy", optimize=False
    )
    donchian_lookback = IntParameter(
        12, 20 * 24, default=DEFAULT_DONCHIAN_LOOKBACK, space="buy", optimize=False
    )
    donchian_exit_lookback = IntParameter(
        0, 10 * 24, default=DEFAULT_DONCHIAN_EXIT_LOOKBACK, space="buy", optimize=False
    )
    # Entry-only: False trades the primary alone on the same models (the comparison arm).
    use_meta_label = BooleanParameter(default=True, space="buy", optimize=False)

    # --- the primary model ---------------------------------------------------------------
    @classmethod
    def _param(cls, name: str, params: Mapping[str, Any]) -> Any:
        return params[name] if name in params else getattr(cls, name).value

    @classmethod
    def primary_mask(
        cls, candles: DataFrame, regime_ok: pd.Series | None, params: Mapping[str, Any]
    ) -> pd.Series:
        """The primary's bets on ``candles`` for parameter values ``params`` (missing names: the
        class defaults), within ``regime_ok`` (None: the trend rule alone)."""
        kind: PrimarySignal = cls._param("primary_signal", params)
        return primary_signal(
            candles,
            kind,
            tsmom_lookback=int(cls._param("tsmom_lookback", params)),
            donchian_lookback=int(cls._param("donchian_lookback", params)),
            donchian_exit_lookback=int(cls._param("donchian_exit_lookback", params)),
            regime_ok=regime_ok,
        )

    @classmethod
    def scoring_mask(
        cls, candles: DataFrame, regime_daily: DataFrame | None, params: Mapping[str, Any],
        timeframe: str,
    ) -> pd.Series:  # fmt: skip
        """Hook of ``tribar.evaluate.evaluation``: the candles whose predictions are scored out
        of sample, i.e. the primary's bets within the regime (the rows the model is trained on,
        whatever ``use_regime_filter`` does to entries).
        ``candles``: the pair's candle file; ``regime_daily``: BTC's 1d candle file."""
        regime = regime_from_daily(
            candles, regime_daily, int(cls._param("regime_ema_days", params)), timeframe
        )
        return cls.primary_mask(candles, regime, params)

    def _current_params(self) -> dict[str, Any]:
        names = ("primary_signal", "tsmom_lookback", "donchian_lookback", "donchian_exit_lookback")
        return {name: getattr(self, name).value for name in names}

    def _primary(self, dataframe: DataFrame) -> pd.Series:
        """The bets the model is trained on and scored on: trend rule and regime."""
        return self.primary_mask(dataframe, self._regime_ok(dataframe), self._current_params())

    # --- FreqAI features and targets -----------------------------------------------------
    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        # How strong the primary's trend is, from closes and highs up to t (the on/off flag
        # itself would be constant on the training rows, which are all bets). Both are computed
        # whatever the primary, so the features do not depend on which one is chosen.
        added = pd.DataFrame(
            {
                "%-tsmom_return": momentum_return(
                    dataframe["close"], int(self.tsmom_lookback.value)
                ),
                "%-donchian_distance": donchian_distance(
                    dataframe["close"], dataframe["high"], int(self.donchian_lookback.value)
                ),
            },
            index=dataframe.index,
        )
        # A concat, not column inserts: FreqAI's merged frame is already highly fragmented.
        kept = dataframe.drop(columns=list(added.columns), errors="ignore")
        return pd.concat([kept, added], axis=1)

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs: Any) -> DataFrame:
        """The parent's labels on the primary's bets; NaN elsewhere, which FreqAI drops.

        Purge check: TripleBarrierClassifierBase first blanks the labels of the window's last H
        *candles* (purge_labels_at_window_end works on the unfiltered frame), then FreqAI drops
        the NaN-label rows and three_block_split purges H *rows* between blocks of what remains.
        With rows missing, H remaining rows span at least H candles, so every purge is at least
        as wide in time as the label's H-candle window: conservative, never leaky.
        """
        frame = super().set_freqai_targets(dataframe, metadata, **kwargs)
        bets = self._primary(dataframe).to_numpy()
        label = frame[LABEL].where(bets)
        return pd.concat([frame.drop(columns=[LABEL]), label], axis=1)

    # --- indicators, entries -------------------------------------------------------------
    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = super().populate_indicators(dataframe, metadata)
        # The entry mask: the training bets, or with use_regime_filter off the trend rule alone.
        regime = dataframe["tribar_regime_ok"] if self.use_regime_filter.value else None
        dataframe[KEY_PRIMARY] = self.primary_mask(dataframe, regime, self._current_params())
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # The primary already contains the regime filter when use_regime_filter is on.
        conditions = dataframe[KEY_PRIMARY] & (dataframe["volume"] > 0)
        tag = "primary_entry"
        if self.use_meta_label.value:
            conditions &= (
                (dataframe.get("do_predict", 0) == 1)
                & (dataframe[KEY_P] >= float(self.entry_threshold.value))
                & (dataframe["tribar_edge"] > float(self.min_edge.value))
            )
            tag = "meta_entry"
        dataframe.loc[conditions.fillna(False), ["enter_long", "enter_tag"]] = (1, tag)
        return dataframe
