"""Account equity for the drawdown and balance-floor limits: marked to market.

Freqtrade's ``get_total_stake_amount`` is the *tradable* capital (scaled by
``tradable_balance_ratio``, open trades at cost), right for sizing but not for "how much is the
account worth": that is the stake-currency balance plus each open position at its last price.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tribar.risk._numbers import finite_float, positive_float


def mark_to_market_equity(
    stake_balance: Any, open_positions: Iterable[tuple[Any, Any, Any]]
) -> float | None:
    """``stake_balance`` + sum of amount x last price over ``(amount, last_price, entry_price)``.

    A position without a usable last price is valued at its entry price (better than dropping
    it, which would look like a loss). None when the balance or an amount is unreadable, so the
    caller skips the check instead of tripping on garbage.
    """
    total = finite_float(stake_balance)
    if total is None or total < 0.0:
        return None
    for amount, last_price, entry_price in open_positions:
        qty = finite_float(amount)
        if qty is None or qty < 0.0:
            return None
        price = positive_float(last_price) or positive_float(entry_price)
        if price is None:
            return None
        total += qty * price
    return total
