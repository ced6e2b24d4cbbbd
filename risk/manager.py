"""RiskManager: the single place each hard limit is enforced.

Pure decisions on plain values: the clock is an argument, inputs are numbers, mappings and
datetimes (never Freqtrade objects), and no method raises on bad numeric input — it returns
the safe answer (no trade, or a halt) with a reason. Naive datetimes are read as UTC, as
Freqtrade stores them.

Which Freqtrade callback calls what:

=========================  ============================================================
``bot_start``              ``load_risk_limits`` -> ``RiskManager(limits)``;
                           ``breaker.add_listener(lambda e: self.dp.send_msg(e.message()))``;
                           ``merged_blacklist(config["exchange"]["pair_blacklist"])``
``protections`` property   ``protections()``
``bot_loop_start``         ``update_equity(total_equity, current_time)``;
                           ``daily_loss_lock_until(pnl_today, current_time)`` -> if a date:
                           ``self.lock_pair("*", until - 1 s, DAILY_LOSS_LOCK_REASON)``
``custom_stake_amount``    ``stake_for_entry(...).stake`` (0 means skip)
``confirm_trade_entry``    ``check_entry(pair, current_time, recent_entry_times).allowed``
``leverage``               ``leverage(pair, proposed_leverage, max_leverage, trading_mode)``
=========================  ============================================================

Limit -> enforcing method: max_position_value_usd, max_total_exposure_usd -> stake_for_entry;
max_daily_loss_usd -> daily_loss_lock_until; max_drawdown_pct, min_account_balance_usd ->
update_equity (they trip the breaker, which check_entry reads); max_trades_per_hour,
blacklist_symbols -> check_entry; max_leverage -> leverage.

Not thread-safe on its own: call the writers (update_equity, daily_loss_lock_until,
reset_halt) from Freqtrade's bot loop only. The breaker it holds is safe to read anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tribar.risk._numbers import finite_float, positive_float
from tribar.risk.circuit_breaker import CircuitBreaker
from tribar.risk.clock import as_utc, next_utc_midnight
from tribar.risk.kelly import kelly_fraction, shrunk_payoff_ratio, split_profit_ratios
from tribar.risk.limits import RiskLimits
from tribar.risk.protections import default_protections
from tribar.risk.volatility import volatility_scale

# Breaker keys: one per limit that halts, so clearing one never lifts another.
HALT_DAILY_LOSS = "daily_loss"
HALT_DRAWDOWN = "drawdown"
HALT_BALANCE_FLOOR = "balance_floor"

# Constant on purpose: Freqtrade de-duplicates locks by reason and end time.
DAILY_LOSS_LOCK_REASON = "tribar risk: max_daily_loss_usd reached"

_RATE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class StakeDecision:
    """Stake in stake currency (margin, before leverage); 0.0 means "skip this entry"."""

    stake: float
    reason: str
    kelly_fraction: float = 0.0
    volatility_scale: float = 0.0

    @property
    def skip(self) -> bool:
        return self.stake <= 0.0


@dataclass(frozen=True)
class EntryDecision:
    allowed: bool
    reason: str


@dataclass(frozen=True)
class EquityStatus:
    equity: float | None
    peak: float | None
    drawdown_pct: float | None
    halted: bool
    reason: str


def _skip(reason: str, kelly: float = 0.0, scale: float = 0.0) -> StakeDecision:
    return StakeDecision(0.0, reason, kelly, scale)


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
        """b for ``stake_for_entry``: the barrier ratio shrunk toward realised trades."""
        wins, losses = split_profit_ratios(closed_profit_ratios)
        strength = self._limits.sizing.payoff_prior_strength
        return shrunk_payoff_ratio(geometric_b, wins, losses, prior_strength=strength)

    def stake_for_entry(
        self,
        pair: str,
        p: Any,
        b: Any,
        current_atr: Any,
        baseline_atr: Any,
        equity: Any,
        open_exposure_usd: Mapping[str, Any],
        min_stake: Any,
        max_stake: Any,
        *,
        leverage: Any = 1.0,
    ) -> StakeDecision:
        """Kelly -> x volatility scale -> caps -> exposure -> exchange min/max -> skip.

        ``open_exposure_usd`` maps each pair with open trades to its position value
        (notional, stake x leverage) in stake currency. ``min_stake``/``max_stake`` are what
        Freqtrade passes to ``custom_stake_amount`` (min may be None). A stake below the
        exchange minimum is skipped rather than rounded up: Freqtrade would raise it by up to
        30 %, past what Kelly and the caps allow.
        """
        sizing = self._limits.sizing
        kelly = kelly_fraction(
            p, b, fraction=sizing.kelly_fraction, max_position_pct=sizing.max_position_pct
        )
        if kelly <= 0.0:
            return _skip(f"no positive edge (p={p!r}, b={b!r})")
        scale = volatility_scale(
            current_atr, baseline_atr, sizing.vol_scale_min, sizing.vol_scale_max
        )
        if scale <= 0.0:
            return _skip(
                f"no volatility scale (atr={current_atr!r}, baseline={baseline_atr!r})", kelly
            )
        return self._capped_stake(
            pair, equity, open_exposure_usd, min_stake, max_stake, leverage,
            fraction_of_equity=kelly * scale, kelly=kelly, scale=scale,
        )  # fmt: skip

    def cap_fixed_stake(
        self,
        pair: str,
        stake: Any,
        equity: Any,
        open_exposure_usd: Mapping[str, Any],
        min_stake: Any,
        max_stake: Any,
        *,
        leverage: Any = 1.0,
    ) -> StakeDecision:
        """A stake chosen elsewhere (Freqtrade's ``stake_amount``) under the same hard limits:
        position value, total exposure, exchange min/max. Kelly's ``max_position_pct`` is part of
        Kelly sizing and does not apply here."""
        wanted = positive_float(stake)
        if wanted is None:
            return _skip(f"invalid stake {stake!r}")
        return self._capped_stake(
            pair, equity, open_exposure_usd, min_stake, max_stake, leverage, fixed_stake=wanted
        )

    def _capped_stake(
        self,
        pair: str,
        equity: Any,
        open_exposure_usd: Mapping[str, Any],
        min_stake: Any,
        max_stake: Any,
        leverage: Any,
        *,
        fraction_of_equity: float | None = None,
        fixed_stake: float | None = None,
        kelly: float = 0.0,
        scale: float = 0.0,
    ) -> StakeDecision:
        """The one place the stake caps are enforced, whatever sized the trade."""
        sizing = self._limits.sizing
        account = positive_float(equity)
        if account is None:
            return _skip(f"equity unreadable or not positive ({equity!r})", kelly, scale)
        lev = finite_float(leverage)
        if lev is None or lev < 1.0:
            return _skip(f"invalid leverage {leverage!r}", kelly, scale)
        exposure = self._exposure(pair, open_exposure_usd)
        if exposure is None:
            return _skip("open exposure unreadable", kelly, scale)
        pair_exposure, total_exposure = exposure
        ceiling = positive_float(max_stake)
        if ceiling is None:
            return _skip(f"no stake available (max_stake={max_stake!r})", kelly, scale)
        floor = 0.0 if min_stake is None else finite_float(min_stake)
        if floor is None or floor < 0.0:
            return _skip(f"invalid min_stake {min_stake!r}", kelly, scale)

        if fixed_stake is not None:
            notional, binding = fixed_stake * lev, "fixed stake"
        else:
            wanted = fraction_of_equity or 0.0
            fraction = min(wanted, sizing.max_position_pct)
            binding = "max_position_pct" if wanted > fraction else "kelly x volatility"
            notional = fraction * account
        limits = self._limits
        for name, room in (
            ("max_position_value_usd", limits.max_position_value_usd - pair_exposure),
            ("max_total_exposure_usd", limits.max_total_exposure_usd - total_exposure),
        ):
            if room < notional:
                notional, binding = room, name
        if notional <= 0.0:
            return _skip(f"no room left under {binding}", kelly, scale)
        stake = notional / lev
        if stake > ceiling:
            stake, binding = ceiling, "Freqtrade max_stake"
        if stake < floor or stake <= 0.0:
            return _skip(
                f"stake {stake:.4f} ({binding}) below exchange minimum {floor:.4f}", kelly, scale
            )
        if fixed_stake is not None:
            return StakeDecision(
                stake, f"fixed stake -> {stake:.4f} (bound by {binding})", 0.0, 0.0
            )
        reason = f"kelly {kelly:.4f} x vol {scale:.3f} -> {stake:.4f} (bound by {binding})"
        return StakeDecision(stake, reason, kelly, scale)

    @staticmethod
    def _exposure(pair: str, open_exposure_usd: Any) -> tuple[float, float] | None:
        """(this pair's, total) open position value, or None if any value is unusable."""
        if not isinstance(open_exposure_usd, Mapping):
            return None
        total = 0.0
        for value in open_exposure_usd.values():
            amount = finite_float(value)
            if amount is None or amount < 0.0:
                return None
            total += amount
        return finite_float(open_exposure_usd.get(pair, 0.0)) or 0.0, total

    # Entry gate ---------------------------------------------------------------------------

    def is_blacklisted(self, pair: str) -> bool:
        return any(pattern.fullmatch(pair) for pattern in self._blacklist)

    def check_entry(
        self, pair: str, now: datetime, recent_entry_times: Iterable[datetime]
    ) -> EntryDecision:
        """Halts, blacklist, then entries per hour. ``recent_entry_times``: open dates of
        trades (any pair) from at least the last hour; older ones are ignored."""
        if not isinstance(pair, str) or not isinstance(now, datetime):
            return EntryDecision(False, f"invalid pair or clock ({pair!r}, {now!r})")
        now = as_utc(now)
        if self._breaker.is_halted(now):
            return EntryDecision(False, f"risk halt: {self._breaker.reason}")
        if self.is_blacklisted(pair):
            return EntryDecision(False, f"{pair} matches blacklist_symbols")
        times = list(recent_entry_times)
        if not all(isinstance(t, datetime) for t in times):
            return EntryDecision(False, "recent entry times unreadable")
        # Entries stamped after `now` (same candle in a backtest) count too.
        in_window = sorted(t for t in map(as_utc, times) if t > now - _RATE_WINDOW)
        limit = self._limits.max_trades_per_hour
        if len(in_window) >= limit:
            next_slot = in_window[len(in_window) - limit] + _RATE_WINDOW
            return EntryDecision(
                False,
                f"{len(in_window)} entries in the last hour reached max_trades_per_hour "
                f"{limit}; next entry after {next_slot.isoformat()}",
            )
        return EntryDecision(True, "ok")

    # Account-level limits ------------------------------------------------------------------

    def update_equity(self, equity: Any, now: datetime) -> EquityStatus:
        """Track the equity peak; trip the drawdown and balance-floor halts.

        Both halts last until ``reset_halt``: a bot that lost this much needs a person, and
        resuming on its own would re-trip on the next loop anyway (the peak is unchanged).
        An unreadable equity is not evaluated (``stake_for_entry`` refuses to size on it).
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

    def daily_loss_lock_until(self, realised_pnl_today_usd: Any, now: datetime) -> datetime | None:
        """Next UTC midnight while today's realised loss is at or past max_daily_loss_usd.

        Trips the breaker until then; the strategy mirrors it as a Freqtrade global lock:
        ``self.lock_pair("*", until - timedelta(seconds=1), DAILY_LOSS_LOCK_REASON)``.
        Freqtrade rounds a lock's end up to the next candle strictly after it (so midnight
        itself would become 01:00 on 1h candles), and it does not duplicate a lock with the
        same reason and end, so calling this on every loop with the constant reason is
        harmless. An unreadable P&L locks too: without it the limit cannot be checked.
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

    def merged_blacklist(self, freqtrade_blacklist: Iterable[str] | None) -> list[str]:
        """Freqtrade's pair_blacklist plus blacklist_symbols, order kept, no duplicates."""
        merged = list(freqtrade_blacklist or [])
        merged += [s for s in self._limits.blacklist_symbols if s not in merged]
        return merged

    def protections(self) -> list[dict[str, Any]]:
        return default_protections()

    def status(self) -> dict[str, Any]:
        """Monitoring view: breaker snapshot, equity peak and the limits in force."""
        return {
            **self._breaker.snapshot(),
            "equity_peak": self._peak,
            "limits": self._limits.model_dump(),
        }
