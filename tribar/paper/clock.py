"""The simulated clock of a replay: wall-clock time functions report the replayed instant.

time-machine moves ``time.time`` and ``datetime.now`` (every thread, C extensions included) but
not ``time.monotonic``, so asyncio loops, uvicorn and HTTP timeouts keep running on real time.
The clock stands still between explicit ``advance`` calls: a bot iteration takes no simulated
time, which keeps replays deterministic and order ages exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine


class ReplayClock:
    def __init__(self, start: datetime, end: datetime) -> None:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("replay start and end must be timezone-aware (UTC)")
        if end <= start:
            raise ValueError(f"replay end {end.isoformat()} is not after start {start.isoformat()}")
        self.start = start.astimezone(UTC)
        self.end = end.astimezone(UTC)
        self._traveller: Any = None
        self._coordinates: Any = None
        self._now = self.start

    def __enter__(self) -> ReplayClock:
        self._traveller = time_machine.travel(self.start, tick=False)
        self._coordinates = self._traveller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = self._coordinates = None

    def now(self) -> datetime:
        return self._now

    def now_ts(self) -> float:
        return self._now.timestamp()

    @property
    def finished(self) -> bool:
        return self._now >= self.end

    def advance(self, seconds: float) -> None:
        """Move the clock forward, never past the end of the range."""
        target = min(self._now + timedelta(seconds=seconds), self.end)
        if self._coordinates is not None:
            self._coordinates.shift(target - self._now)
        self._now = target

    def progress(self) -> float:
        return (self._now - self.start) / (self.end - self.start)
