"""Kelly sizing: how much of equity a trade with win probability p and payoff ratio b deserves.

All functions are total: invalid input yields 0.0 ("no trade"), never an exception, because
they run inside Freqtrade's bot loop where an exception skips the candle and hides the cause.

Formulas (also in docs/risk.md):

* Kelly fraction            f* = (b·p - q) / b,   q = 1 - p
* Position fraction         f  = fraction · f*,  0 when f* ≤ 0 (the max_position_pct cap is
                            applied once, in RiskManager.decide, after the volatility scale)
* Net barrier returns (long, fee φ per side, moves w = k_tp·ATR/P, l = k_sl·ATR/P)
      r_win  = (1 + w)(1 - φ)/(1 + φ) - 1
      r_loss = (1 - l)(1 - φ)/(1 + φ) - 1
  (short: r = 1 - (1 ∓ move)(1 + φ)/(1 - φ)); b_geo = r_win / |r_loss|, 0 when r_win ≤ 0.
  These are exactly Freqtrade's ``calc_profit_ratio`` for a trade closing at the barrier.
* Shrinkage toward the geometric ratio, with n_w wins and n_l losses:
      n_eff = 2·n_w·n_l / (n_w + n_l)          (harmonic mean; 0 if either is 0)
      w     = n_eff / (n_eff + k)              (k = prior_strength)
      b     = exp((1 - w)·ln b_geo + w·ln(mean_win / mean_loss))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from tribar.risk._numbers import finite_float, positive_float

DEFAULT_KELLY_FRACTION = 0.5
# With k = 20 the realised ratio gets half the weight after ~20 wins and ~20 losses:
# the sample mean of fat-tailed trade returns is too noisy to trust much earlier.
DEFAULT_PAYOFF_PRIOR_STRENGTH = 20.0


def _unit_interval_open_closed(value: Any) -> float | None:
    """``value`` when it lies in (0, 1], else None."""
    number = finite_float(value)
    return number if number is not None and 0.0 < number <= 1.0 else None


def kelly_fraction(p: Any, b: Any, *, fraction: Any = DEFAULT_KELLY_FRACTION) -> float:
    """Fractional Kelly: the fraction of equity one position deserves, in ``[0, fraction]``.

    ``p`` is the calibrated probability of hitting take-profit, ``b`` the net payoff ratio
    (average win / average loss). ``fraction`` scales full Kelly (½ by default: it gives up a
    quarter of the growth rate for half the variance, and forgives an overconfident ``p``).
    There is deliberately no minimum bet: a non-positive edge means negative expectancy.
    No cap here: ``max_position_pct`` is enforced once, by ``RiskManager.decide``.

    Returns 0.0 when p ∉ [0, 1], b ≤ 0, any argument is NaN/inf/non-numeric, or
    ``fraction`` lies outside (0, 1].
    """
    prob = finite_float(p)
    ratio = positive_float(b)
    scale = _unit_interval_open_closed(fraction)
    if prob is None or ratio is None or scale is None:
        return 0.0
    if not 0.0 <= prob <= 1.0:
        return 0.0
    edge = (ratio * prob - (1.0 - prob)) / ratio
    if not edge > 0.0:
        return 0.0
    return scale * edge


def _net_barrier_returns(
    win_move: float, loss_move: float, fee: float, is_short: bool
) -> tuple[float, float]:
    """(r_win, r_loss) as Freqtrade's profit ratio for a trade closed at each barrier."""
    if is_short:
        # Freqtrade: open value = P·(1 - φ), close value = P'·(1 + φ), ratio = 1 - close/open.
        cost = (1.0 + fee) / (1.0 - fee)
        return 1.0 - (1.0 - win_move) * cost, 1.0 - (1.0 + loss_move) * cost
    keep = (1.0 - fee) / (1.0 + fee)
    return (1.0 + win_move) * keep - 1.0, (1.0 - loss_move) * keep - 1.0


def payoff_ratio_from_barriers(
    k_tp: Any,
    k_sl: Any,
    atr: Any,
    entry_price: Any,
    fee_per_side: Any,
    *,
    is_short: bool = False,
) -> float:
    """Net-of-fee win/loss ratio of a trade whose barriers sit ``k·ATR`` from the entry.

    The take-profit barrier is ``k_tp·atr`` in the trade's favour, the stop ``k_sl·atr``
    against it; ``fee_per_side`` is the exchange fee as a ratio (0.001 = 0.1 %), paid on entry
    and exit. Returns 0.0 when fees eat the whole win, or for invalid input (non-positive
    k/ATR/price, fee outside [0, 1), a stop at or beyond zero price for a long, a take-profit
    at or below zero for a short).
    """
    tp = positive_float(k_tp)
    sl = positive_float(k_sl)
    vol = positive_float(atr)
    price = positive_float(entry_price)
    fee = finite_float(fee_per_side)
    if tp is None or sl is None or vol is None or price is None or fee is None:
        return 0.0
    if not 0.0 <= fee < 1.0:
        return 0.0
    win_move = tp * vol / price
    loss_move = sl * vol / price
    if not (math.isfinite(win_move) and math.isfinite(loss_move)):
        return 0.0
    # A barrier beyond zero price cannot be hit; the geometry is meaningless.
    if (loss_move >= 1.0 and not is_short) or (win_move >= 1.0 and is_short):
        return 0.0
    r_win, r_loss = _net_barrier_returns(win_move, loss_move, fee, is_short)
    if not r_win > 0.0 or not r_loss < 0.0:
        return 0.0
    ratio = r_win / -r_loss
    return ratio if math.isfinite(ratio) else 0.0


def split_profit_ratios(profit_ratios: Iterable[Any]) -> tuple[list[float], list[float]]:
    """Closed-trade profit ratios split into (wins, loss magnitudes); flat and invalid dropped."""
    wins: list[float] = []
    losses: list[float] = []
    for value in profit_ratios:
        number = finite_float(value)
        if number is None or number == 0.0:
            continue
        (wins if number > 0.0 else losses).append(abs(number))
    return wins, losses


def _positive_mean(values: Iterable[Any]) -> tuple[float, int]:
    """Mean of the finite, non-zero magnitudes in ``values`` and how many there were."""
    magnitudes = [abs(v) for v in (finite_float(x) for x in values) if v is not None and v != 0.0]
    if not magnitudes:
        return 0.0, 0
    return math.fsum(magnitudes) / len(magnitudes), len(magnitudes)


def shrinkage_weight(n_wins: int, n_losses: int, prior_strength: float) -> float:
    """Weight w ∈ [0, 1] of the realised payoff ratio; see the module docstring."""
    if n_wins <= 0 or n_losses <= 0:
        return 0.0
    n_eff = 2.0 * n_wins * n_losses / (n_wins + n_losses)
    return n_eff / (n_eff + prior_strength)


def shrunk_payoff_ratio(
    geometric_b: Any,
    realised_wins: Iterable[Any],
    realised_losses: Iterable[Any],
    prior_strength: Any = DEFAULT_PAYOFF_PRIOR_STRENGTH,
) -> float:
    """Payoff ratio b blended from the barrier geometry and the realised trades.

    ``realised_wins`` are profit ratios of winning closed trades, ``realised_losses`` those of
    losing ones (sign ignored; non-finite and zero entries are dropped). The realised ratio
    mean_win / mean_loss gets weight ``w = n_eff / (n_eff + prior_strength)`` with
    ``n_eff`` the harmonic mean of the win and loss counts — the ratio is only as reliable as
    its smaller sample, and with no wins or no losses it is undefined (w = 0). The blend is
    geometric (in log b) because b and 1/b are symmetric errors and it keeps b positive.

    It mirrors a normal-normal posterior mean for ln b: a prior centred on ``ln geometric_b``
    worth ``prior_strength`` pseudo-observations, and ``ln(mean_win / mean_loss)`` worth
    ``n_eff`` observations (empirical Bayes with a fixed, configurable prior weight).

    Returns 0.0 when ``geometric_b`` is invalid or ≤ 0 (the barriers themselves promise no
    edge, so realised luck must not talk the bot into trading) or ``prior_strength`` < 0.
    """
    prior_b = positive_float(geometric_b)
    strength = finite_float(prior_strength)
    if prior_b is None or strength is None or strength < 0.0:
        return 0.0
    mean_win, n_wins = _positive_mean(realised_wins)
    mean_loss, n_losses = _positive_mean(realised_losses)
    weight = shrinkage_weight(n_wins, n_losses, strength)
    if weight == 0.0:
        return prior_b
    log_b = (1.0 - weight) * math.log(prior_b) + weight * math.log(mean_win / mean_loss)
    blended = math.exp(log_b)
    return blended if math.isfinite(blended) and blended > 0.0 else 0.0
