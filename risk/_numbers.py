"""Turning untrusted numeric input into a finite float or nothing.

The bot loop hands the risk layer values from exchanges, wallets and models; any of them can be
None, NaN, a numpy scalar or (through a bug) a string. Every decision function funnels its inputs
through here so that "invalid" has one definition.
"""

from __future__ import annotations

import math
from typing import Any


def finite_float(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, non-numeric, NaN or infinite."""
    # bool is an int subclass; True as "1.0 ATR" is always a bug, never a number.
    if value is None or isinstance(value, bool | str | bytes):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def positive_float(value: Any) -> float | None:
    """``value`` as a finite float > 0, or None."""
    number = finite_float(value)
    return number if number is not None and number > 0.0 else None
