"""Errors of the paper-trading replay, each naming what was wrong and where."""

from __future__ import annotations


class ReplayError(RuntimeError):
    """The replay cannot run as asked."""


class ReplayDataError(ReplayError):
    """Candles or market definitions for the replay are missing or unusable."""


class ReplayNetworkError(ReplayError):
    """Something in the replayed bot tried to reach the network."""
