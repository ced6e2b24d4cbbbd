"""TripleBarrierMLPooled — TripleBarrierML's entries, exits and sizing on ONE FreqAI model per
walk-forward window trained on the rows of every whitelisted pair (``TripleBarrierLGBMPooled``).

Pooling needs features that mean the same on every pair and carry the same column names, so
this strategy replaces the parent's features with pair-normalised ones computed on the base
timeframe (``tribar.designs.pooled_features``): returns and ranges in ATR units, z-scores,
cross-sectional ranks across the whitelisted pairs at each timestamp, BTC/ETH context, plus the
parent's time-of-day features. The ``expand_*`` hooks add nothing: FreqAI would suffix their
columns with the pair's name (``..._SOL/USDT_1h``), which makes one pair's columns unknown to
another pair's rows.

Run: ``tribar ft backtesting -c config.json --strategy TripleBarrierMLPooled
--freqaimodel TripleBarrierLGBMPooled`` (docs/strategy.md, "Pooled cross-pair model").
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from freqtrade.enums import RunMode
from pandas import DataFrame

from tribar.designs.pooled_features import DEFAULT_PERIODS, pair_metrics, pooled_features
from tribar.strategies.TripleBarrierML import TripleBarrierML

logger = logging.getLogger(__name__)


class TripleBarrierMLPooled(TripleBarrierML):
    # Candles per return / range / z-score window of the pooled features.
    pooled_periods: tuple[int, ...] = DEFAULT_PERIODS

    @property
    def context_pairs(self) -> list[str]:
        stake = self.config["stake_currency"]
        return [f"BTC/{stake}", f"ETH/{stake}"]

    def informative_pairs(self) -> list[tuple[str, str]]:
        # The context pairs' base candles must be in the data provider even when they are not
        # whitelisted (the cross-section itself is the whitelist, always available).
        extra = [(p, self.timeframe) for p in self.context_pairs]
        return [*super().informative_pairs(), *extra]

    # --- features ---------------------------------------------------------------------------
    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        return dataframe

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        return dataframe

    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        dataframe = super().feature_engineering_standard(dataframe, metadata, **kwargs)
        pair = metadata["pair"]
        sources = self._cross_section_sources(pair)
        metrics = {name: self._metrics(name, frame) for name, frame in sources.items()}
        features = pooled_features(
            dataframe, pair, sources, context_pairs=self.context_pairs,
            periods=self.pooled_periods, atr_period=int(self.atr_period.value),
            source_metrics=metrics,
        )  # fmt: skip
        kept = dataframe.drop(columns=list(features.columns), errors="ignore")
        return pd.concat([kept, features], axis=1)

    def _whitelist(self) -> list[str]:
        if self.dp is not None:
            try:
                return list(self.dp.current_whitelist())
            except Exception:  # no pairlist handler (e.g. a bare DataProvider in a tool)
                pass
        return list(self.config["exchange"].get("pair_whitelist") or [])

    def _cross_section_sources(self, pair: str) -> dict[str, pd.DataFrame]:
        names = list(dict.fromkeys([*self._whitelist(), *self.context_pairs]))
        sources: dict[str, pd.DataFrame] = {}
        for name in names:
            if name == pair:
                continue  # pooled_features uses the frame FreqAI hands over for the pair itself
            frame = self._history(name)
            if frame is not None and not frame.empty:
                sources[name] = frame
        return sources

    def _history(self, pair: str) -> pd.DataFrame | None:
        """The pair's base candles: the data provider's, and in dry-run/live also FreqAI's
        in-memory history, whose 90+ days cover the training window (the data provider only
        holds the last few hundred candles, so ranks of older training rows would be NaN and
        FreqAI would drop those rows). Only same-timestamp candles are ever read from these."""
        parts: list[pd.DataFrame] = []
        if self.config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE):
            drawer = getattr(getattr(self, "freqai", None), "dd", None)
            history = getattr(drawer, "historic_data", None) or {}
            # FreqAI replaces (never mutates) these frames on update: reading the reference
            # from the training thread is safe without its history lock.
            stored = history.get(pair, {}).get(self.timeframe)
            if stored is not None and not stored.empty:
                parts.append(stored)
        if self.dp is not None:
            try:
                provided = self.dp.get_pair_dataframe(pair=pair, timeframe=self.timeframe)
            except Exception as exc:  # a pair without data must not stop the others' features
                logger.warning("%s: no %s candles for the cross-section: %s", pair,
                               self.timeframe, exc)  # fmt: skip
                provided = None
            if provided is not None and not provided.empty:
                parts.append(provided)
        if not parts:
            return None
        columns = ["date", "open", "high", "low", "close", "volume"]
        frame = pd.concat([p[columns] for p in parts], ignore_index=True)
        frame["date"] = pd.to_datetime(frame["date"], utc=True)
        frame = frame.drop_duplicates("date", keep="last").sort_values("date")
        return frame.reset_index(drop=True)

    # Metrics per source frame, reused across the pairs of one pass (every pair's features need
    # every other pair's metrics). Keyed by the frame's extent, so new candles recompute.
    _metrics_cache: dict[tuple[str, int, Any, Any], pd.DataFrame] | None = None

    def _metrics(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        key = (name, len(frame), frame["date"].iloc[0], frame["date"].iloc[-1])
        if self._metrics_cache is None:
            self._metrics_cache = {}
        cached = self._metrics_cache.get(key)
        if cached is None:
            cached = pair_metrics(frame, self.pooled_periods, int(self.atr_period.value))
            if len(self._metrics_cache) > 4 * max(len(self._whitelist()), 1) + 8:
                self._metrics_cache.clear()
            self._metrics_cache[key] = cached
        return cached
