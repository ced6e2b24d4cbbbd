"""The barrier stop is set once and never reported as a trailing stop.

Freqtrade turns the ratio ``custom_stoploss`` returns back into a price against the current rate
and rounds it up to the tick; a stop that comes out one tick higher counts as trailing and the
exit is reported as ``trailing_stop_loss`` (seen in a replayed 4h bot). ``stop_is_at_barrier``
lets the strategy leave a stop that already sits on its barrier alone.
"""

from __future__ import annotations

import math

from ccxt.base.decimal_to_precision import TICK_SIZE
from freqtrade.exchange.exchange_utils import ROUND_UP, price_to_precision
from freqtrade.strategy import stoploss_from_absolute
from hypothesis import given
from hypothesis import strategies as st

from tribar.barrier_trade import STOP_TOLERANCE, stop_is_at_barrier


def test_only_a_stop_on_the_barrier_counts() -> None:
    assert stop_is_at_barrier(2456.13, 2456.124075)
    assert not stop_is_at_barrier(None, 2456.12)
    assert not stop_is_at_barrier(math.nan, 2456.12)
    assert not stop_is_at_barrier(0.0, 2456.12)
    # The -30 % backstop before the first fill, and a stop 1 % off: both are moved.
    assert not stop_is_at_barrier(1770.28, 2456.12)
    assert not stop_is_at_barrier(2456.12 * 0.99, 2456.12)


@given(
    barrier=st.floats(1e-3, 2e5),
    rate_over_barrier=st.floats(1.0001, 3.0),
    ticks_per_price=st.sampled_from([1e4, 1e5, 1e6, 1e7]),
)
def test_freqtrades_rounding_of_the_barrier_stays_on_the_barrier(
    barrier: float, rate_over_barrier: float, ticks_per_price: float
) -> None:
    """Whatever rate the stop is recomputed against, Freqtrade's rounded stop (ticks of at most
    1e-4 of the price, as on the bundled markets) is recognised as the barrier itself."""
    rate = barrier * rate_over_barrier
    tick = 10 ** math.floor(math.log10(barrier / ticks_per_price))
    ratio = stoploss_from_absolute(barrier, rate)
    stop = price_to_precision(rate * (1 - ratio), tick, TICK_SIZE, rounding_mode=ROUND_UP)
    assert stop_is_at_barrier(stop, barrier)
    assert abs(stop / barrier - 1) < STOP_TOLERANCE
