"""Sizing knobs a hyperopt may move: multipliers that can only shrink the configured sizing.

The strategy exposes two hyperoptable parameters (space ``sizing``) and passes their values in
the ``EntryRequest``; ``RiskManager.decide`` applies them here, to the configured ``sizing``
section, before any cap:

* ``kelly_multiplier`` m_k in (0, 1]:  kelly_fraction' = m_k · kelly_fraction
* ``vol_scale_max_multiplier`` m_v in (0, 1]:
      vol_scale_max' = max(vol_scale_min, m_v · vol_scale_max)

Both only lower the stake or leave it as configured (f' ≤ f, s' ≤ s), and at 1.0 they give the
configured values exactly (x · 1.0 == x in IEEE arithmetic, and vol_scale_min ≤ vol_scale_max
by validation), so an un-tuned strategy sizes as before. The caps (max_position_pct, the money
limits, the halts) are not knobs: they are applied after this, unchanged, in ``decide``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tribar.risk._numbers import finite_float

KNOB_NAMES: tuple[str, ...] = ("kelly_multiplier", "vol_scale_max_multiplier")


@dataclass(frozen=True)
class TightenedSizing:
    """The sizing ``decide`` uses for one entry, after the knobs."""

    kelly_fraction: float
    vol_scale_min: float
    vol_scale_max: float


def knob_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not a usable knob (a finite number in (0, 1]), or None."""
    number = finite_float(value)
    if number is None or not 0.0 < number <= 1.0:
        return f"{name}={value!r} (expected a number in (0, 1]: a knob may only shrink the stake)"
    return None


def tightened_sizing(
    kelly_fraction: float,
    vol_scale_min: float,
    vol_scale_max: float,
    kelly_multiplier: float = 1.0,
    vol_scale_max_multiplier: float = 1.0,
) -> TightenedSizing:
    """The configured sizing shrunk by valid knobs (check them with ``knob_problem`` first).

    The upper volatility clamp never drops below the lower one: the clamp stays an interval.
    """
    return TightenedSizing(
        kelly_fraction=kelly_fraction * kelly_multiplier,
        vol_scale_min=vol_scale_min,
        vol_scale_max=max(vol_scale_min, vol_scale_max * vol_scale_max_multiplier),
    )
