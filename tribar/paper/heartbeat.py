"""Bot heartbeats: one line per bot loop (at most one a minute of bot time) in the user-data
folder, so a paper-trading run's uptime can be judged afterwards from a file the bot wrote.

Written from the strategy's ``bot_loop_start`` in dry-run and live modes. Writing must never
stop the bot loop: a failure is logged once and the recorder goes quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

logger = logging.getLogger(__name__)

HEARTBEAT_FILE = "tribar_heartbeats.log"


class HeartbeatRecorder:
    def __init__(self, path: Path, min_interval: timedelta = timedelta(minutes=1)) -> None:
        self.path = path
        self.min_interval = min_interval
        self._last: datetime | None = None
        self._broken = False

    def beat(self, now: datetime) -> None:
        if self._broken or (self._last is not None and now - self._last < self.min_interval):
            return
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(now.astimezone(UTC).isoformat() + "\n")
        except OSError as exc:
            self._broken = True
            logger.warning(
                "heartbeats: cannot write %s (%s); uptime will not be judged", self.path, exc
            )
            return
        self._last = now


def read_heartbeats(path: Path) -> list[datetime]:
    """Heartbeat times from ``path``, sorted; a malformed line is an error naming the line."""
    if not path.is_file():
        return []
    beats = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            beat = datetime.fromisoformat(line.strip())
        except ValueError:
            raise ValueError(f"{path}:{number}: not an ISO timestamp: {line!r}") from None
        beats.append(beat if beat.tzinfo else beat.replace(tzinfo=UTC))
    return sorted(beats)


def uptime(
    beats: Sequence[datetime], start: datetime, end: datetime, allowed_gap: timedelta
) -> float | None:
    """Share of [start, end] the bot was alive: every stretch without a heartbeat longer than
    ``allowed_gap`` (including before the first and after the last beat) counts as down beyond
    the allowed gap. None when the period is empty."""
    total = (end - start).total_seconds()
    if total <= 0:
        return None
    points = [start, *(b for b in beats if start <= b <= end), end]
    down = sum(
        max(0.0, (later - earlier - allowed_gap).total_seconds())
        for earlier, later in pairwise(points)
    )
    return max(0.0, 1.0 - down / total)
