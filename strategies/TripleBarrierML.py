"""TripleBarrierML — long-only entries from a calibrated FreqAI LightGBM classifier trained on
triple-barrier labels; exits that realise exactly the barriers the model was trained on.

* Labels (``set_freqai_targets``): long entered at the next open, take-profit ``+k_tp*ATR``,
  stop ``-k_sl*ATR``, vertical barrier after ``H`` candles (``tribar.labels``).
* Entry: FreqAI's outlier checks pass, calibrated P(take-profit) >= ``entry_threshold`` and the
  expected net value of the barrier trade at that probability > ``min_edge``; optionally only
  while BTC trades above its daily EMA (regime filter).
* Sizing and limits (``tribar.risk``): one ``RiskManager.decide`` in ``custom_stake_amount``
  (stake or refusal; ``confirm_trade_entry`` reads it back), equity/daily-loss checks in
  ``bot_loop_start`` (they trip the breaker ``decide`` reads), Freqtrade protections from
  ``protections``; see docs/risk.md.
* Exits: stop via ``custom_stoploss``, take-profit via ``custom_roi`` (Freqtrade prices ROI exits
  at the level when the candle's high reaches it, and checks the stop first within a candle —
  the same conservative reading the labels use), timeout via ``custom_exit`` after ``H`` candles.
  Levels are fixed at entry from the signal candle's ATR and stored on the trade.

Run: ``tribar ft backtesting -c config.json --strategy TripleBarrierML`` (FreqAI settings,
model class and paths come from config.json).
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import talib.abstract as ta
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_minutes
from freqtrade.persistence import Trade
from freqtrade.strategy import (
    BooleanParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
    stoploss_from_absolute,
)
from pandas import DataFrame

from tribar.analysis.ledger.mirror import TradeMirror
from tribar.analysis.ledger.url import LedgerConfigError
from tribar.barrier_trade import (
    BarrierLevels,
    expected_barrier_return,
    levels_at_entry,
    signal_candle,
    stop_is_at_barrier,
    timeout_reached,
)
from tribar.labels import BarrierSpec, triple_barrier_labels
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT
from tribar.monitoring.strategy_monitor import StrategyMonitor
from tribar.paper.heartbeat import HEARTBEAT_FILE, HeartbeatRecorder
from tribar.regime import REGIME_TIMEFRAME, regime_from_daily
from tribar.risk import (
    KNOB_NAMES,
    BreakerEvent,
    EntryDecision,
    EntryRequest,
    ProtectionSettings,
    RiskConfigError,
    RiskManager,
    knob_problem,
    load_risk_limits,
    mark_to_market_equity,
    rolling_baseline_atr,
    start_of_utc_day,
)
from tribar.risk.clock import as_utc
from tribar.risk.store import RiskStateStore, RiskStateSync, RiskStoreError

logger = logging.getLogger(__name__)

STRATEGY_VERSION = "1.0.0"
LABEL = "&-tb"
# Trade custom-data keys (read by the ledger mirror and the risk layer too). KEY_ATR and KEY_P
# are also columns of the analysed frame, so a backtest's exported signal candles carry them.
KEY_TP, KEY_SL, KEY_ATR, KEY_P = "tribar_tp", "tribar_sl", "tribar_atr", "tribar_p_tp"
# The risk cap that shrank the stake (a tribar.risk.CAP_STEPS name); absent when none did.
KEY_STAKE_CAP = "tribar_stake_cap"


class TripleBarrierML(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    process_only_new_candles = True
    # Covers the risk layer's rolling ATR baseline (336 candles by default).
    startup_candle_count = 400

    # Barrier exits do the work; these are backstops that never bind first.
    minimal_roi = {"0": 100.0}
    use_custom_roi = True
    stoploss = -0.30
    use_custom_stoploss = True
    trailing_stop = False
    use_exit_signal = True
    exit_profit_only = False

    # Barrier geometry: the model is trained on these, so changing them means retraining
    # (not hyperopted; FreqAI hyperopt reuses the trained models).
    k_tp = DecimalParameter(1.0, 6.0, default=3.0, decimals=1, space="buy", optimize=False)
    k_sl = DecimalParameter(0.5, 4.0, default=1.5, decimals=1, space="buy", optimize=False)
    atr_period = IntParameter(7, 28, default=14, space="buy", optimize=False)
    regime_ema_days = IntParameter(20, 100, default=50, space="buy", optimize=False)

    entry_threshold = DecimalParameter(0.30, 0.80, default=0.50, decimals=2, space="buy")
    min_edge = DecimalParameter(0.0, 0.02, default=0.002, decimals=3, space="buy")
    use_regime_filter = BooleanParameter(default=True, space="buy")
    # False: Freqtrade's configured stake_amount (the "fixed stakes" arm of the sizing benchmark).
    use_kelly_sizing = BooleanParameter(default=True, space="buy", optimize=False)

    # Sizing knobs (`--spaces sizing`): multipliers on the configured kelly_fraction and
    # vol_scale_max. At most 1.0, so hyperopt can only shrink a stake; 1.0 sizes exactly as
    # configured. The caps stay in RiskManager.decide and are never hyperopted
    # (tribar.risk.sizing_knobs, docs/tuning.md).
    sizing_kelly_multiplier = DecimalParameter(0.25, 1.0, default=1.0, decimals=2, space="sizing")
    sizing_vol_scale_max_multiplier = DecimalParameter(
        0.25, 1.0, default=1.0, decimals=2, space="sizing"
    )

    # Freqtrade's protections (`--spaces protection`): protection_<name> is the field <name> of
    # tribar.risk.ProtectionSettings, whose defaults these repeat (the shipped protections).
    protection_cooldown_hours = IntParameter(1, 6, default=1, space="protection")
    protection_stoploss_guard_trade_limit = IntParameter(2, 6, default=3, space="protection")
    protection_stoploss_guard_stop_hours = IntParameter(1, 24, default=6, space="protection")
    protection_max_drawdown_allowed = DecimalParameter(
        0.04, 0.12, default=0.08, decimals=2, space="protection"
    )
    protection_max_drawdown_stop_hours = IntParameter(4, 48, default=12, space="protection")
    protection_low_profit_trade_limit = IntParameter(2, 6, default=3, space="protection")
    protection_low_profit_stop_hours = IntParameter(6, 48, default=24, space="protection")
    # FreqAI's column the strategy trades on, copied to ``tribar_p_tp`` (TripleBarrierMLGateOff:
    # the same models' probabilities with the edge gate off).
    probability_column: ClassVar[str] = TAKE_PROFIT

    plot_config = {
        "main_plot": {},
        "subplots": {
            "P(take-profit)": {KEY_P: {"color": "green"}},
            "edge": {"tribar_edge": {"color": "blue"}},
        },
    }

    # --- configuration -------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        return int(self.config["freqai"]["feature_parameters"]["label_period_candles"])

    @property
    def fee(self) -> float:
        return float(self.config.get("fee") or 0.001)

    @property
    def barrier_spec(self) -> BarrierSpec:
        return BarrierSpec(
            k_tp=float(self.k_tp.value),
            k_sl=float(self.k_sl.value),
            horizon=self.horizon,
            fee=self.fee,
        )

    @property
    def regime_pair(self) -> str:
        return f"BTC/{self.config['stake_currency']}"

    # --- risk layer (tribar.risk): one RiskManager, loaded and validated at start ----------
    _risk: RiskManager | None = None

    @property
    def risk(self) -> RiskManager:
        if self._risk is None:
            try:
                limits = load_risk_limits(self.config)
            except RiskConfigError as exc:
                # Stops the bot at start, naming the key; never reached inside the loop.
                raise OperationalException(f"tribar risk limits: {exc}") from exc
            self._risk = RiskManager(limits)
            self._risk.breaker.add_listener(self._announce_breaker)
        return self._risk

    def _announce_breaker(self, event: BreakerEvent | str) -> None:
        if self.dp is not None:
            text = event if isinstance(event, str) else event.message()
            self.dp.send_msg(text, always_send=True)

    # Durable halts and equity peak in the trades database (dry-run/live only; docs/risk.md).
    _risk_state: RiskStateSync | None = None

    # Trade ledger mirror (dry-run/live only; backtests are imported: `tribar ledger import`).
    _ledger: TradeMirror | None = None
    _heartbeats: HeartbeatRecorder | None = None

    def version(self) -> str:
        return STRATEGY_VERSION

    def bot_start(self, **kwargs: Any) -> None:
        self._check_sizing_knobs()
        # blacklist_symbols is enforced by RiskManager.decide only (not copied into Freqtrade's
        # pair_blacklist, which /delete_blacklist could lift): say which whitelisted pairs it
        # will refuse, since Freqtrade still analyses them.
        refused = [p for p in self.config["exchange"].get("pair_whitelist") or []
                   if isinstance(p, str) and self.risk.is_blacklisted(p)]  # fmt: skip
        if refused:
            logger.warning(
                "tribar risk: %s in the whitelist match blacklist_symbols: analysed, never "
                "entered (add them to Freqtrade's pair_blacklist to skip their analysis)",
                ", ".join(refused),
            )
        try:
            self._ledger = TradeMirror.for_strategy(self.config, strategy_version=self.version())
        except LedgerConfigError as exc:
            raise OperationalException(f"tribar ledger: {exc}") from exc
        if self._ledger is not None:
            self._ledger.start()
            # Refusals and resizes reach the ledger's entry_decisions table (outbox, no I/O).
            self.risk.add_decision_listener(self._ledger.record_decision)
        if self.config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE):
            # Read by `tribar paper report` to judge uptime.
            self._heartbeats = HeartbeatRecorder(
                Path(self.config["user_data_dir"]) / HEARTBEAT_FILE
            )
            # A restart or /reload_config must not lift a halt or re-base the equity peak.
            try:
                # Freqtrade's Configuration always sets db_url for dry-run/live.
                db_url = self.config.get("db_url")
                if not db_url:
                    raise RiskStoreError("the config has no db_url (Freqtrade's trades database)")
                store = RiskStateStore.from_url(db_url)
            except RiskStoreError as exc:
                raise OperationalException(f"tribar risk state: {exc}") from exc
            self._risk_state = RiskStateSync(store, self.risk, announce=self._announce_breaker)
            self._risk_state.restore(datetime.now(UTC))
        self._monitor_start()

    @property
    def protections(self) -> list[dict[str, Any]]:
        # Read by Freqtrade at start, at /reload_config and (hyperopt) before every epoch.
        values = {
            f.name: getattr(self, f"protection_{f.name}").value for f in fields(ProtectionSettings)
        }
        try:
            return self.risk.protections(ProtectionSettings(**values))
        except ValueError as exc:
            raise OperationalException(
                f"tribar protections (strategy parameters protection_<name>): {exc}"
            ) from exc

    def _check_sizing_knobs(self) -> None:
        """Stop at start on a knob that would loosen the sizing (a hand-edited parameter
        file); decide would refuse every Kelly entry with it anyway."""
        problems = [
            p for p in (
                knob_problem(f"sizing_{name}", getattr(self, f"sizing_{name}").value)
                for name in KNOB_NAMES
            ) if p is not None
        ]  # fmt: skip
        if problems:
            raise OperationalException(
                "tribar sizing knobs (strategy parameters, space 'sizing'): " + "; ".join(problems)
            )

    def informative_pairs(self) -> list[tuple[str, str]]:
        return [(self.regime_pair, "1d")]

    # --- FreqAI features and targets (closed candles only) ------------------------------
    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        close = dataframe["close"]
        dataframe["%-rsi-period"] = ta.RSI(dataframe, timeperiod=period)
        dataframe["%-mfi-period"] = ta.MFI(dataframe, timeperiod=period)
        dataframe["%-adx-period"] = ta.ADX(dataframe, timeperiod=period)
        dataframe["%-natr-period"] = ta.NATR(dataframe, timeperiod=period)
        dataframe["%-roc-period"] = ta.ROC(dataframe, timeperiod=period)
        dataframe["%-close_to_ema-period"] = close / ta.EMA(dataframe, timeperiod=period) - 1
        dataframe["%-range_position-period"] = (close - dataframe["low"].rolling(period).min()) / (
            dataframe["high"].rolling(period).max() - dataframe["low"].rolling(period).min()
        )
        dataframe["%-relative_volume-period"] = (
            dataframe["volume"] / dataframe["volume"].rolling(period).mean()
        )
        return dataframe

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        dataframe["%-pct_change"] = dataframe["close"].pct_change()
        dataframe["%-candle_body"] = (dataframe["close"] - dataframe["open"]) / dataframe["open"]
        dataframe["%-upper_wick"] = (
            dataframe["high"] - dataframe[["open", "close"]].max(axis=1)
        ) / dataframe["close"]
        return dataframe

    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs: Any
    ) -> DataFrame:
        # In live retraining FreqAI appends the data provider's candles (tz datetime.timezone.utc)
        # to history read back from feather (tz zoneinfo UTC); pandas 3 concatenates those into
        # an object column, so parse rather than trust the dtype (tests/strategy, replay test).
        date = pd.to_datetime(dataframe["date"], utc=True)
        hour = date.dt.hour
        dataframe["%-hour_sin"] = np.sin(2 * np.pi * hour / 24)
        dataframe["%-hour_cos"] = np.cos(2 * np.pi * hour / 24)
        dataframe["%-day_of_week"] = date.dt.day_of_week / 6
        return dataframe

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs: Any) -> DataFrame:
        atr = ta.ATR(dataframe, timeperiod=int(self.atr_period.value))
        labels = triple_barrier_labels(dataframe, atr, self.barrier_spec)
        outcome = labels["outcome"]
        target = pd.Series(
            np.where(outcome == 1.0, TAKE_PROFIT, NO_TAKE_PROFIT),
            index=dataframe.index,
            dtype="str",
        )
        # Unlabelled rows (the last H candles, warm-up) stay NaN: FreqAI drops them in training.
        label = target.where(outcome.notna()).rename(LABEL)
        # FreqAI hands over its merged feature frame (about 130 blocks with 3 timeframes x 3
        # pairs): inserting a column there makes pandas warn "highly fragmented" (> 100 blocks);
        # a concat adds it without the insert.
        return pd.concat([dataframe.drop(columns=[LABEL], errors="ignore"), label], axis=1)

    # --- indicators, entries -------------------------------------------------------------
    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = self.freqai.start(dataframe, metadata, self)
        self._monitor_candle(metadata)
        atr = pd.Series(
            ta.ATR(dataframe, timeperiod=int(self.atr_period.value)), index=dataframe.index
        )
        # No model yet (first candles of a live start): predictions are absent, never guessed.
        probability = (
            dataframe[self.probability_column]
            if self.probability_column in dataframe
            else pd.Series(np.nan, index=dataframe.index)
        )
        added = {
            "tribar_atr": atr,
            "tribar_atr_baseline": rolling_baseline_atr(
                atr, self.risk.limits.sizing.atr_baseline_window
            ),
            KEY_P: probability,
            "tribar_edge": expected_barrier_return(
                probability, dataframe["close"], atr, self.barrier_spec
            ),
            "tribar_regime_ok": self._regime_ok(dataframe),
        }
        if TAKE_PROFIT not in dataframe:
            added[TAKE_PROFIT] = pd.Series(np.nan, index=dataframe.index)
        # FreqAI returns one block per column (about 40). One concat instead of an insert per
        # column, then one consolidating copy, keeps the frame far below pandas' fragmentation
        # warning (100 blocks) when Freqtrade adds its signal columns.
        columns = pd.DataFrame(added, index=dataframe.index)
        kept = dataframe.drop(columns=list(columns.columns), errors="ignore")
        return pd.concat([kept, columns], axis=1).copy()

    def _regime_ok(self, dataframe: DataFrame) -> pd.Series:
        """BTC closed above its daily EMA (on the last closed daily candle)."""
        daily = self.dp.get_pair_dataframe(pair=self.regime_pair, timeframe=REGIME_TIMEFRAME)
        return regime_from_daily(dataframe, daily, int(self.regime_ema_days.value), self.timeframe)

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        conditions = (
            (dataframe.get("do_predict", 0) == 1)
            & (dataframe[KEY_P] >= float(self.entry_threshold.value))
            & (dataframe["tribar_edge"] > float(self.min_edge.value))
            & (dataframe["volume"] > 0)
        )
        if self.use_regime_filter.value:
            conditions &= dataframe["tribar_regime_ok"]
        dataframe.loc[conditions.fillna(False), ["enter_long", "enter_tag"]] = (1, "tb_entry")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    # --- barrier exits -------------------------------------------------------------------
    def _levels(self, trade: Trade) -> BarrierLevels | None:
        tp, sl, atr = (trade.get_custom_data(k) for k in (KEY_TP, KEY_SL, KEY_ATR))
        if tp is not None and sl is not None and atr is not None:
            return BarrierLevels(float(tp), float(sl), float(atr), trade.get_custom_data(KEY_P))
        return self._fix_levels(trade)

    def _fix_levels(self, trade: Trade) -> BarrierLevels | None:
        """Fix the barriers from the signal candle's ATR and store them on the trade."""
        dataframe, _ = self.dp.get_analyzed_dataframe(trade.pair, self.timeframe)
        candle = signal_candle(
            dataframe, trade.open_date_utc, timedelta(minutes=timeframe_to_minutes(self.timeframe))
        )
        if candle is None:
            logger.warning(
                "%s: no signal candle for trade %s; barriers not set", trade.pair, trade.id
            )
            return None
        p = candle.get(KEY_P)
        p_value = float(p) if p is not None and np.isfinite(p) else None
        levels = levels_at_entry(
            trade.open_rate, float(candle["tribar_atr"]), p_value, self.barrier_spec
        )
        if not levels.is_valid():
            logger.warning(
                "%s: invalid barrier levels %s for trade %s", trade.pair, levels, trade.id
            )
            return None
        trade.set_custom_data(KEY_TP, levels.take_profit)
        trade.set_custom_data(KEY_SL, levels.stop)
        trade.set_custom_data(KEY_ATR, levels.atr)
        if p_value is not None:
            trade.set_custom_data(KEY_P, p_value)
        return levels

    def order_filled(
        self, pair: str, trade: Trade, order: Any, current_time: datetime, **kwargs: Any
    ) -> None:
        if order.ft_order_side == trade.entry_side and trade.nr_of_successful_entries == 1:
            self._fix_levels(trade)
            decision = self._decision_for(pair, trade.open_date_utc)
            if decision is not None and decision.resized:
                trade.set_custom_data(KEY_STAKE_CAP, decision.binding)
        elif self._ledger is not None and not trade.is_open:
            # Appends to the durable outbox; delivery happens on the mirror's own thread.
            self._ledger.record_trade(trade)
        self._monitor_order_filled(trade, order)

    def custom_stoploss(
        self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
        current_profit: float, after_fill: bool, **kwargs: Any,
    ) -> float | None:  # fmt: skip
        levels = self._levels(trade)
        if levels is None:
            return None
        if not after_fill and stop_is_at_barrier(trade.stop_loss, levels.stop):
            return None  # unchanged; a recomputed level would only add a tick of rounding
        return stoploss_from_absolute(
            levels.stop, current_rate, is_short=trade.is_short, leverage=trade.leverage
        )

    def custom_roi(
        self, pair: str, trade: Trade, current_time: datetime, trade_duration: int,
        entry_tag: str | None, side: str, **kwargs: Any,
    ) -> float | None:  # fmt: skip
        levels = self._levels(trade)
        if levels is None:
            return None
        # ROI is compared with the fee-adjusted profit at the candle's high.
        return float(trade.calc_profit_ratio(levels.take_profit))

    def custom_exit(
        self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
        current_profit: float, **kwargs: Any,
    ) -> str | None:  # fmt: skip
        candle = timedelta(minutes=timeframe_to_minutes(self.timeframe))
        if timeout_reached(trade.open_date_utc, current_time, self.horizon, candle):
            return "timeout"
        levels = self._levels(trade)
        if levels is not None and not trade.is_short and current_rate <= levels.stop:
            # Freqtrade never sets a stop above the current rate: a limit entry that fills after
            # the price fell through the barrier keeps the -30 % backstop, and the barrier would
            # only become the stop (reported as "trailing_stop_loss") once the price is back
            # above it. The label counts this as a stop-out; so does the trade.
            return "stop_loss"
        return None

    # --- risk adapters -------------------------------------------------------------------
    # Hyperopt with one job runs every epoch's backtest on this same object (parallel workers get
    # pickled copies). Each backtest starts with a fresh wallet, so the risk layer must start
    # fresh too: no equity peak or halt carried over from the previous epoch. Backtests only: in
    # dry-run/live a halt is lifted by a person, never by the clock.
    _last_backtest_time: datetime | None = None

    def _fresh_risk_for_each_backtest(self, current_time: datetime) -> None:
        if self.config.get("runmode") not in (RunMode.BACKTEST, RunMode.HYPEROPT):
            return
        if self._last_backtest_time is not None and current_time <= self._last_backtest_time:
            self._risk = None  # the clock went back: a new backtest; rebuilt on first use
        self._last_backtest_time = current_time

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        if self._heartbeats is not None:
            self._heartbeats.beat(current_time)
        if self.wallets is None:
            return
        self._fresh_risk_for_each_backtest(current_time)
        equity = self._account_equity()
        if self._risk_state is not None:
            self._risk_state.apply_reset(current_time, equity)  # `tribar risk reset`
        self.risk.update_equity(equity, current_time)
        # Freqtrade filters close_date strictly after the bound; a trade closed at 00:00:00
        # belongs to the new day.
        day_start = start_of_utc_day(current_time) - timedelta(microseconds=1)
        closed_today = Trade.get_trades_proxy(is_open=False, close_date=day_start)
        realised = sum(t.close_profit_abs or 0.0 for t in closed_today)
        # Trips the breaker; decide refuses while it holds (no Freqtrade lock: one enforcement).
        self.risk.daily_loss_lock_until(realised, current_time)
        if self._risk_state is not None:
            self._risk_state.save_if_changed(current_time)
        self._monitor_loop()

    def _account_equity(self) -> float | None:
        positions = []
        for trade in Trade.get_trades_proxy(is_open=True):
            dataframe, _ = self.dp.get_analyzed_dataframe(trade.pair, self.timeframe)
            last = dataframe["close"].iloc[-1] if not dataframe.empty else None
            positions.append((trade.amount, last, trade.open_rate))
        balance = self.wallets.get_total(self.config["stake_currency"]) if self.wallets else None
        return mark_to_market_equity(balance, positions)

    # custom_stake_amount makes the whole risk decision (Freqtrade calls it before
    # confirm_trade_entry, and a stake of 0 ends the entry there); confirm_trade_entry only
    # reads that decision back, and order_filled stores a resized stake's binding cap.
    _entry_decisions: dict[str, EntryDecision] | None = None
    # The two callbacks of one entry run back to back; a decision older than this is not theirs.
    _DECISION_MATCH = timedelta(minutes=1)

    def _decision_for(self, pair: str, when: datetime) -> EntryDecision | None:
        decision = (self._entry_decisions or {}).get(pair)
        if decision is None or decision.time is None:
            return None
        if abs(decision.time - as_utc(when)) > self._DECISION_MATCH:
            return None
        return decision

    def confirm_trade_entry(
        self, pair: str, order_type: str, amount: float, rate: float, time_in_force: str,
        current_time: datetime, entry_tag: str | None, side: str, **kwargs: Any,
    ) -> bool:  # fmt: skip
        decision = self._decision_for(pair, current_time)
        if decision is None:
            # Only reachable if Freqtrade skipped custom_stake_amount: never enter unchecked.
            logger.info("%s: entry refused: no risk decision for this entry", pair)
            return False
        return decision.allowed

    def _entry_request(
        self, pair: str, current_time: datetime, current_rate: float, proposed_stake: float,
        min_stake: float | None, max_stake: float, leverage: float, side: str,
    ) -> EntryRequest:  # fmt: skip
        open_exposure: dict[str, float] = {}
        for t in Trade.get_trades_proxy(is_open=True):
            open_exposure[t.pair] = open_exposure.get(t.pair, 0.0) + t.stake_amount * t.leverage
        recent = Trade.get_trades_proxy(open_date=current_time - timedelta(hours=1))
        common: dict[str, Any] = {
            "pair": pair, "time": current_time, "price": current_rate,
            "equity": self.wallets.get_total_stake_amount() if self.wallets else None,
            "open_exposure": open_exposure,
            "recent_entry_times": [t.open_date_utc for t in recent],
            "proposed_stake": proposed_stake, "min_stake": min_stake, "max_stake": max_stake,
            "leverage": leverage, "is_short": side == "short",
        }  # fmt: skip
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        # The last analysed candle is the one Freqtrade's entry signal came from.
        candle = dataframe.iloc[-1] if not dataframe.empty else pd.Series(dtype=object)
        if not self.use_kelly_sizing.value:
            # The signal candle only labels the decision (the ledger's no-flood key).
            return EntryRequest(sizing="fixed", signal_time=candle.get("date"), **common)
        spec = self.barrier_spec
        return EntryRequest(
            sizing="kelly", probability=candle.get(KEY_P), atr=candle.get("tribar_atr"),
            atr_baseline=candle.get("tribar_atr_baseline"),
            k_tp=spec.k_tp, k_sl=spec.k_sl, fee=spec.fee,
            kelly_multiplier=self.sizing_kelly_multiplier.value,
            vol_scale_max_multiplier=self.sizing_vol_scale_max_multiplier.value,
            signal_time=candle.get("date"),
            timeframe=timedelta(minutes=timeframe_to_minutes(self.timeframe)),
            closed_profit_ratios=[
                t.close_profit for t in Trade.get_trades_proxy(is_open=False)
            ],
            **common,
        )  # fmt: skip

    def custom_stake_amount(
        self, pair: str, current_time: datetime, current_rate: float, proposed_stake: float,
        min_stake: float | None, max_stake: float, leverage: float, entry_tag: str | None,
        side: str, **kwargs: Any,
    ) -> float:  # fmt: skip
        try:
            request = self._entry_request(
                pair, current_time, current_rate, proposed_stake, min_stake, max_stake,
                leverage, side,
            )  # fmt: skip
        except Exception:
            # Freqtrade would fall back to proposed_stake on an exception: refuse instead.
            logger.exception("%s: entry refused: could not read the entry's inputs", pair)
            return 0.0
        decision = self.risk.decide(request)
        if self._entry_decisions is None:
            self._entry_decisions = {}
        self._entry_decisions[pair] = decision
        # 0 makes Freqtrade skip the entry.
        return decision.stake

    def leverage(
        self, pair: str, current_time: datetime, current_rate: float, proposed_leverage: float,
        max_leverage: float, entry_tag: str | None, side: str, **kwargs: Any,
    ) -> float:  # fmt: skip
        return self.risk.leverage(
            pair, proposed_leverage, max_leverage, self.config.get("trading_mode")
        )

    # --- monitoring (tribar.monitoring; dry-run/live with tribar.metrics.enabled) -----------
    # Thin: StrategyMonitor reads Freqtrade's objects and never raises into the bot loop.
    _monitor: StrategyMonitor | None = None

    def _monitor_start(self) -> None:
        try:
            self._monitor = StrategyMonitor.start(self)
        except ValueError as exc:  # a bad tribar.metrics value: stop at start, naming the key
            raise OperationalException(f"tribar metrics: {exc}") from exc

    def _monitor_loop(self) -> None:
        if self._monitor is not None:
            self._monitor.loop()

    def _monitor_candle(self, metadata: dict) -> None:
        if self._monitor is not None:
            self._monitor.candle(metadata["pair"])

    def _monitor_order_filled(self, trade: Trade, order: Any) -> None:
        if self._monitor is not None:
            self._monitor.order_filled(trade, order)
