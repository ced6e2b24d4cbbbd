"""RiskManager: the single place each hard limit is enforced.

Pure decisions on plain values: the clock is an argument, inputs are numbers, mappings and
datetimes (never Freqtrade objects), and no method raises on bad numeric input — it returns
the safe answer (no trade, or a halt) with a reason. Naive datetimes are read as UTC, as
Freqtrade stores them.

Which Freqtrade callback calls what:

=========================  ============================================================
``bot_start``              ``load_risk_limits`` -> ``RiskManager(limits)``;
                           ``breaker.add_listener(lambda e: self.dp.send_msg(e.message()))``;
                           ``add_decision_listener`` (metrics, ledger)
``protections`` property   ``protections(ProtectionSettings(...))``
``bot_loop_start``         ``update_equity(total_equity, current_time)``;
                           ``daily_loss_lock_until(pnl_today, current_time)`` (trips the breaker)
``custom_stake_amount``    ``decide(EntryRequest(...))`` -> ``.stake`` (0 means skip)
``confirm_trade_entry``    the allowed flag of the decision ``custom_stake_amount`` made
``leverage``               ``leverage(pair, proposed_leverage, max_leverage, trading_mode)``
=========================  ============================================================

Limit -> where it is enforced: every entry-time limit (halts, blacklist_symbols,
max_trades_per_hour, max_position_pct, max_position_value_usd, max_total_exposure_usd, the
exchange min/max stake) -> ``decide``, once each, in ``DECISION_ORDER``. max_daily_loss_usd ->
``daily_loss_lock_until`` and max_drawdown_pct, min_account_balance_usd -> ``update_equity``
trip the breaker, which ``decide`` reads; max_leverage -> ``leverage``.

One enforcement, no copies in Freqtrade: ``blacklist_symbols`` is not merged into Freqtrade's
``pair_blacklist`` and the daily-loss halt places no Freqtrade lock. Both Freqtrade structures
are gates of their own that a user can lift at runtime (``/delete_blacklist``, deleting a lock
via the REST API), that ``/forceenter`` bypasses (it never checks locks), and that keep
Freqtrade from calling ``custom_stake_amount`` at all, so a refusal there would never reach
the metrics or the ledger. ``decide`` sees every entry, forced ones included, and cannot be
lifted from outside; halts stay visible through the breaker's messages (``dp.send_msg``, i.e.
Telegram), the log, the metrics and the ledger's ``entry_decisions`` table.

Not thread-safe on its own: call the writers (update_equity, daily_loss_lock_until,
reset_halt, decide) from Freqtrade's bot loop only. The breaker it holds is safe to read
anywhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tribar.risk._numbers import finite_float, positive_float
from tribar.risk.circuit_breaker import CircuitBreaker, Halt
from tribar.risk.clock import as_utc, next_utc_midnight
from tribar.risk.decision import EntryDecision, EntryRequest
from tribar.risk.kelly import (
    kelly_fraction,
    payoff_ratio_from_barriers,
    shrunk_payoff_ratio,
    split_profit_ratios,
)
from tribar.risk.limits import RiskLimits
from tribar.risk.protections import ProtectionSettings, protections_from_settings
from tribar.risk.sizing_knobs import KNOB_NAMES, knob_problem, tightened_sizing
from tribar.risk.volatility import volatility_scale

# Breaker keys: one per limit that halts, so clearing one never lifts another.
HALT_DAILY_LOSS = "daily_loss"
HALT_DRAWDOWN = "drawdown"
HALT_BALANCE_FLOOR = "balance_floor"

# Kept for scripts that look for it: tribar no longer places this Freqtrade lock (the daily-loss
# halt is the breaker's, enforced in decide); see the module docstring.
DAILY_LOSS_LOCK_REASON = "tribar risk: max_daily_loss_usd reached"

_RATE_WINDOW = timedelta(hours=1)

logger = logging.getLogger(__name__)

DecisionListener = Callable[[EntryDecision], object]  # the return value is ignored


def _show(value: Any) -> str:
    """A number as a short plain figure (numpy scalars print as ``np.float64(…)``)."""
    if value is None or isinstance(value, bool | str | bytes):
        return repr(value)
    try:
        return f"{float(value):.6g}"
    except (TypeError, ValueError, OverflowError):
        return repr(value)


@dataclass(frozen=True)
class EquityStatus:
    equity: float | None
    peak: float | None
    drawdown_pct: float | None
    halted: bool
    reason: str


class RiskManager:
    def __init__(
        self,
        limits: RiskLimits,
        breaker: CircuitBreaker | None = None,
        *,
        equity_peak: float | None = None,
    ) -> None:
        """``equity_peak`` restores the drawdown reference after a restart; without it the
        first equity reading becomes the peak (so a restart re-bases the drawdown)."""
        self._limits = limits
        self._breaker = breaker if breaker is not None else CircuitBreaker()
        self._peak = positive_float(equity_peak)
        # Patterns were validated by RiskLimits; Freqtrade matches them whole and ignoring case.
        self._blacklist = [re.compile(p, re.IGNORECASE) for p in limits.blacklist_symbols]
        self._decision_listeners: list[DecisionListener] = []

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    @property
    def equity_peak(self) -> float | None:
        return self._peak

    # Sizing -------------------------------------------------------------------------------

    def payoff_ratio(self, geometric_b: Any, closed_profit_ratios: Iterable[Any]) -> float:
        """b for ``decide``: the barrier ratio shrunk toward realised trades."""
        wins, losses = split_profit_ratios(closed_profit_ratios)
        strength = self._limits.sizing.payoff_prior_strength
        return shrunk_payoff_ratio(geometric_b, wins, losses, prior_strength=strength)

    def add_decision_listener(self, listener: DecisionListener) -> None:
        """``listener(decision)`` after every ``decide`` (monitoring counts refusals by
        ``decision.code``). Exceptions in a listener are logged and swallowed."""
        self._decision_listeners.append(listener)

    def remove_decision_listener(self, listener: DecisionListener) -> None:
        if listener in self._decision_listeners:
            self._decision_listeners.remove(listener)

    def decide(self, request: EntryRequest) -> EntryDecision:
        """The one pre-trade decision: every check and cap, in ``DECISION_ORDER``.

        Never raises: a field that is missing, NaN, infinite or of the wrong type refuses the
        entry with a reason naming it. Each refusal and each resize is logged at INFO and every
        decision goes to the decision listeners.
        """
        try:
            decision = self._decide(request)
        except Exception as exc:  # the bot loop must get an answer, not a crash
            logger.exception("risk decision failed for %r", request)
            decision = EntryDecision(
                False, 0.0, "request", f"risk decision failed: {exc!r}",
                str(getattr(request, "pair", "")),
            )  # fmt: skip
        if isinstance(request, EntryRequest) and decision.request is None:
            decision = replace(decision, request=request)
        if decision.refused:
            logger.info("%s: entry refused [%s]: %s", decision.pair, decision.code, decision.reason)
        elif decision.resized:
            logger.info("%s: stake resized [%s]: %s", decision.pair, decision.code, decision.reason)
        for listener in list(self._decision_listeners):
            try:
                listener(decision)
            except Exception:  # a monitoring bug must not block trading
                logger.exception("risk decision listener %r failed", listener)
        return decision

    def _decide(self, request: EntryRequest) -> EntryDecision:
        if not isinstance(request, EntryRequest):
            return EntryDecision(False, 0.0, "request", f"not an EntryRequest: {request!r}")
        pair, now = request.pair, request.time
        if not isinstance(pair, str) or not pair or not isinstance(now, datetime):
            return EntryDecision(
                False, 0.0, "request", f"invalid pair or clock ({pair!r}, {now!r})"
            )
        now = as_utc(now)
        kelly_mode = request.sizing == "kelly"
        if not kelly_mode and request.sizing != "fixed":
            return self._refuse(
                request, "request", f"sizing must be 'kelly' or 'fixed', got {request.sizing!r}"
            )

        # Gates: no sizing work for an entry that may not happen at all.
        if self._breaker.is_halted(now):
            return self._refuse(request, "circuit_breaker", f"risk halt: {self._breaker.reason}")
        if self.is_blacklisted(pair):
            return self._refuse(request, "blacklist_symbols", f"{pair} matches blacklist_symbols")
        rate = self._rate_limit(now, request.recent_entry_times)
        if rate is not None:
            return self._refuse(request, "max_trades_per_hour", rate)

        inputs = self._read_inputs(request)
        if isinstance(inputs, str):
            return self._refuse(request, "inputs", inputs)
        account, lev, pair_exposure, total_exposure, ceiling, floor = inputs

        payoff = kelly = scale = 0.0
        binding: str | None = None
        if kelly_mode:
            stale = self._stale_signal(request, now)
            if stale is not None:
                return self._refuse(request, "signal_age", stale)
            configured = self._limits.sizing
            sizing = tightened_sizing(
                configured.kelly_fraction, configured.vol_scale_min, configured.vol_scale_max,
                request.kelly_multiplier, request.vol_scale_max_multiplier,
            )  # fmt: skip
            geometric = payoff_ratio_from_barriers(
                request.k_tp, request.k_sl, request.atr, request.price, request.fee,
                is_short=bool(request.is_short),
            )  # fmt: skip
            payoff = self.payoff_ratio(geometric, request.closed_profit_ratios)
            if payoff <= 0.0:
                return self._refuse(
                    request, "payoff_ratio",
                    f"no payoff: barrier ratio {geometric:.4f} (k_tp={_show(request.k_tp)}, "
                    f"k_sl={_show(request.k_sl)}, atr={_show(request.atr)}, "
                    f"price={_show(request.price)}, fee={_show(request.fee)})",
                )  # fmt: skip
            kelly = kelly_fraction(request.probability, payoff, fraction=sizing.kelly_fraction)
            if kelly <= 0.0:
                return self._refuse(
                    request, "kelly_edge",
                    f"no positive edge: p={_show(request.probability)}, b={payoff:.4f}",
                    payoff=payoff,
                )  # fmt: skip
            scale = volatility_scale(
                request.atr, request.atr_baseline, sizing.vol_scale_min, sizing.vol_scale_max
            )
            if scale <= 0.0:
                return self._refuse(
                    request, "volatility_scale",
                    f"no volatility scale (atr={_show(request.atr)}, "
                    f"baseline={_show(request.atr_baseline)})",
                    payoff=payoff, kelly=kelly,
                )  # fmt: skip
            fraction = kelly * scale
            if fraction > configured.max_position_pct:
                fraction, binding = configured.max_position_pct, "max_position_pct"
            notional = fraction * account
            wanted = f"kelly {kelly:.4f} x vol {scale:.3f}"
        else:
            # Fixed stakes: max_position_pct belongs to Kelly sizing and does not apply.
            fixed = positive_float(request.proposed_stake) or 0.0  # validated in _read_inputs
            notional = fixed * lev
            wanted = f"fixed stake {fixed:.4f}"

        limits = self._limits
        for name, room in (
            ("max_position_value_usd", limits.max_position_value_usd - pair_exposure),
            ("max_total_exposure_usd", limits.max_total_exposure_usd - total_exposure),
        ):
            if room < notional:
                notional, binding = room, name
                if notional <= 0.0:
                    return self._refuse(
                        request, name, f"no room left under {name} {getattr(limits, name):g}",
                        payoff=payoff, kelly=kelly, scale=scale,
                    )  # fmt: skip
        stake = notional / lev
        if stake > ceiling:
            stake, binding = ceiling, "max_stake"
        if stake < floor or not stake > 0.0:
            return self._refuse(
                request, "min_stake",
                f"{wanted} -> {stake:.4f} (bound by {binding or 'sizing'}) below exchange "
                f"minimum {floor:.4f}",
                payoff=payoff, kelly=kelly, scale=scale,
            )  # fmt: skip
        reason = f"{wanted} -> {stake:.4f}" + (f" (bound by {binding})" if binding else "")
        return EntryDecision(
            True, stake, binding or "ok", reason, pair, now, binding, payoff, kelly, scale
        )

    def _refuse(
        self, request: EntryRequest, code: str, reason: str, *,
        payoff: float = 0.0, kelly: float = 0.0, scale: float = 0.0,
    ) -> EntryDecision:  # fmt: skip
        return EntryDecision(
            False, 0.0, code, reason, request.pair, as_utc(request.time), None,
            payoff, kelly, scale,
        )  # fmt: skip

    def _rate_limit(self, now: datetime, recent_entry_times: Any) -> str | None:
        """Why max_trades_per_hour refuses, or None."""
        if not isinstance(recent_entry_times, Iterable):
            return f"recent entry times unreadable ({recent_entry_times!r})"
        times = list(recent_entry_times)
        if not all(isinstance(t, datetime) for t in times):
            return "recent entry times unreadable (expected datetimes)"
        # Entries stamped after `now` (same candle in a backtest) count too.
        in_window = sorted(t for t in map(as_utc, times) if t > now - _RATE_WINDOW)
        limit = self._limits.max_trades_per_hour
        if len(in_window) < limit:
            return None
        next_slot = in_window[len(in_window) - limit] + _RATE_WINDOW
        return (
            f"{len(in_window)} entries in the last hour reached max_trades_per_hour "
            f"{limit}; next entry after {next_slot.isoformat()}"
        )

    def _read_inputs(
        self, request: EntryRequest
    ) -> tuple[float, float, float, float, float, float] | str:
        """(equity, leverage, pair exposure, total exposure, max_stake, min_stake), or why not."""
        problems: list[str] = []
        account = positive_float(request.equity)
        if account is None:
            problems.append(f"equity={_show(request.equity)} (expected a finite number > 0)")
        lev = finite_float(request.leverage)
        if lev is None or lev < 1.0:
            problems.append(f"leverage={_show(request.leverage)} (expected a finite number >= 1)")
        exposure = self._exposure(request.pair, request.open_exposure)
        if exposure is None:
            problems.append("open_exposure unreadable (expected pair -> finite value >= 0)")
        ceiling = positive_float(request.max_stake)
        if ceiling is None:
            problems.append(f"max_stake={_show(request.max_stake)} (expected a finite number > 0)")
        floor = 0.0 if request.min_stake is None else finite_float(request.min_stake)
        if floor is None or floor < 0.0:
            problems.append(
                f"min_stake={_show(request.min_stake)} (expected None or a number >= 0)"
            )
        if request.sizing == "fixed":
            if positive_float(request.proposed_stake) is None:
                problems.append(
                    f"proposed_stake={_show(request.proposed_stake)} (expected a finite number > 0)"
                )
        else:
            prob = finite_float(request.probability)
            if prob is None or not 0.0 <= prob <= 1.0:
                problems.append(
                    f"probability={_show(request.probability)} (expected a number in [0, 1])"
                )
            for name in ("price", "atr", "atr_baseline"):
                value = getattr(request, name)
                if positive_float(value) is None:
                    problems.append(f"{name}={_show(value)} (expected a finite number > 0)")
            # A knob above 1 would loosen the configured sizing: refused, never clipped.
            for name in KNOB_NAMES:
                problem = knob_problem(name, getattr(request, name))
                if problem is not None:
                    problems.append(problem)
        if problems:
            return "invalid input: " + "; ".join(problems)
        assert account is not None and lev is not None and exposure is not None  # for mypy
        assert ceiling is not None and floor is not None
        return account, lev, exposure[0], exposure[1], ceiling, floor

    @staticmethod
    def _stale_signal(request: EntryRequest, now: datetime) -> str | None:
        """Why the signal candle is not the last closed candle at ``now``, or None."""
        signal, timeframe = request.signal_time, request.timeframe
        if not isinstance(signal, datetime) or not isinstance(timeframe, timedelta):
            return f"signal candle time unknown (signal_time={signal!r}, timeframe={timeframe!r})"
        if timeframe <= timedelta(0):
            return f"timeframe {timeframe} is not positive"
        closed_at = as_utc(signal) + timeframe
        # Live calls arrive a little after the close; one full candle later, a newer candle
        # should have been analysed and this one is old news.
        if not closed_at <= now < closed_at + timeframe:
            return (
                f"signal candle of {as_utc(signal).isoformat()} is stale or from the future "
                f"at {now.isoformat()} (timeframe {timeframe})"
            )
        return None

    @staticmethod
    def _exposure(pair: str, open_exposure: Any) -> tuple[float, float] | None:
        """(this pair's, total) open position value, or None if any value is unusable."""
        if not isinstance(open_exposure, Mapping):
            return None
        total = 0.0
        for value in open_exposure.values():
            amount = finite_float(value)
            if amount is None or amount < 0.0:
                return None
            total += amount
        return finite_float(open_exposure.get(pair, 0.0)) or 0.0, total

    def is_blacklisted(self, pair: str) -> bool:
        return any(pattern.fullmatch(pair) for pattern in self._blacklist)

    # Account-level limits ------------------------------------------------------------------

    def update_equity(self, equity: Any, now: datetime) -> EquityStatus:
        """Track the equity peak; trip the drawdown and balance-floor halts.

        Both halts last until ``reset_halt``: a bot that lost this much needs a person, and
        resuming on its own would re-trip on the next loop anyway (the peak is unchanged).
        An unreadable equity is not evaluated (``decide`` refuses to size on it).
        """
        now = as_utc(now)
        value = finite_float(equity)
        if value is None:
            return EquityStatus(
                None, self._peak, None, self._breaker.is_halted(now), "equity unreadable"
            )
        if self._peak is None or value > self._peak:
            self._peak = value
        drawdown: float | None = None
        limits = self._limits
        if self._peak > 0.0:
            drawdown = (self._peak - value) / self._peak * 100.0
            if drawdown >= limits.max_drawdown_pct:
                self._breaker.trip(
                    f"drawdown {drawdown:.2f}% from peak {self._peak:.2f} reached "
                    f"max_drawdown_pct {limits.max_drawdown_pct:g}",
                    now,
                    key=HALT_DRAWDOWN,
                )
        if value < limits.min_account_balance_usd:
            self._breaker.trip(
                f"equity {value:.2f} below min_account_balance_usd "
                f"{limits.min_account_balance_usd:g}",
                now,
                key=HALT_BALANCE_FLOOR,
            )
        halted = self._breaker.is_halted(now)
        return EquityStatus(value, self._peak, drawdown, halted, self._breaker.reason or "ok")

    def reset_halt(self, now: datetime, equity: Any) -> EquityStatus:
        """Operator reset: lift the drawdown and floor halts and re-base the peak on
        ``equity``. The floor re-trips at once if equity is still below it."""
        now = as_utc(now)
        self._breaker.clear(now, key=HALT_DRAWDOWN)
        self._breaker.clear(now, key=HALT_BALANCE_FLOOR)
        self._peak = finite_float(equity)
        return self.update_equity(equity, now)

    def restore(self, equity_peak: float | None, halts: Iterable[Halt]) -> None:
        """State a restart lost (``tribar.risk.store``): the drawdown reference and the halts."""
        peak = finite_float(equity_peak)
        self._peak = peak if peak is not None and peak >= 0.0 else None
        self._breaker.restore(halts)

    def daily_loss_lock_until(self, realised_pnl_today_usd: Any, now: datetime) -> datetime | None:
        """Next UTC midnight while today's realised loss is at or past max_daily_loss_usd.

        Trips the breaker until then (``decide`` refuses every entry while it holds; no
        Freqtrade lock is placed, see the module docstring). Re-tripping a held halt is
        silent, so calling this on every loop is harmless. An unreadable P&L halts too:
        without it the limit cannot be checked.
        """
        now = as_utc(now)
        until = next_utc_midnight(now)
        pnl = finite_float(realised_pnl_today_usd)
        limit = self._limits.max_daily_loss_usd
        if pnl is None:
            reason = f"today's realised P&L is unreadable ({realised_pnl_today_usd!r})"
        elif -pnl >= limit:
            reason = f"realised loss today {-pnl:.2f} reached max_daily_loss_usd {limit:g}"
        else:
            return None
        self._breaker.trip(reason, now, until, key=HALT_DAILY_LOSS)
        return until

    # Freqtrade plumbing --------------------------------------------------------------------

    def leverage(
        self, pair: str, proposed: Any, max_leverage_exchange: Any, trading_mode: Any
    ) -> float:
        """Leverage for a new trade: 1.0 in spot, else min(proposed, max_leverage, exchange)."""
        mode = str(getattr(trading_mode, "value", trading_mode)).lower()
        if mode == "spot":
            return 1.0
        wanted = finite_float(proposed)
        exchange_cap = finite_float(max_leverage_exchange)
        if wanted is None or exchange_cap is None:
            return 1.0
        return max(1.0, min(wanted, self._limits.max_leverage, exchange_cap))

    def protections(self, settings: ProtectionSettings | None = None) -> list[dict[str, Any]]:
        """Freqtrade's protections; ``settings`` are the strategy's protection-space values
        (None: the defaults)."""
        return protections_from_settings(settings or ProtectionSettings())

    def status(self) -> dict[str, Any]:
        """Monitoring view: breaker snapshot, equity peak and the limits in force."""
        return {
            **self._breaker.snapshot(),
            "equity_peak": self._peak,
            "limits": self._limits.model_dump(),
        }
