"""Progress of a replay over simulated time, on the terminal (rich) or as plain lines in logs."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class ReplayProgress:
    """Called after every clock step; redraws at most a few times a second."""

    def __init__(self, start: datetime, end: datetime, console: Console | None = None) -> None:
        self.start, self.end = start, end
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]replay[/bold] {task.fields[now]}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f} %"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not self.console.is_terminal,
        )
        self._task = self._progress.add_task("replay", total=1.0, now=f"{start:%Y-%m-%d %H:%M}")
        self._last_decile = -1

    def __enter__(self) -> ReplayProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, session: Any) -> None:
        clock = session.clock
        done = clock.progress()
        self._progress.update(self._task, completed=done, now=f"{clock.now():%Y-%m-%d %H:%M}")
        if not self.console.is_terminal:
            decile = int(done * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                print(f"replay: {clock.now():%Y-%m-%d %H:%M} ({done:.0%})", file=sys.stderr)
