"""Freqtrade runs inside ``tribar demo`` with everything it writes going to one log file.

Freqtrade logs several hundred INFO lines and prints its result tables and progress bars; the demo
shows its own progress and summary instead. Freqtrade's ``log_config`` (a config key) replaces its
console handler with a file handler, and the tables and progress bars it prints go to the same
file. Python warnings are not hidden: they still reach the terminal.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from tribar.ftcli import run_freqtrade

# Freqtrade's own file-log format (freqtrade.loggers.LOGFORMAT).
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def file_log_config(log_file: Path) -> dict[str, Any]:
    """Freqtrade ``log_config``: every record to ``log_file``, nothing to the console."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"standard": {"format": LOG_FORMAT}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "standard",
                "filename": str(log_file),
                "mode": "a",
                "encoding": "utf-8",
            }
        },
        "root": {"handlers": ["file"], "level": "INFO"},
    }


def _warnings_to(terminal: Console) -> Any:
    def show(
        message: Warning | str, category: type[Warning], filename: str, lineno: int,
        file: TextIO | None = None, line: str | None = None,
    ) -> None:  # fmt: skip
        text = warnings.formatwarning(message, category, filename, lineno, line)
        terminal.print(text.rstrip(), markup=False, highlight=False, style="yellow")

    return show


@contextmanager
def output_to_log(log_file: Path, terminal: Console) -> Iterator[None]:
    """Log records, stdout and stderr into ``log_file``; warnings to ``terminal``.

    Afterwards the root logger still writes to ``log_file`` (Freqtrade's file handler), so the
    demo's later records (ledger import, report) land there too, not on the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.close()
    with log_file.open("a", buffering=1, encoding="utf-8") as sink:
        # Records logged before Freqtrade reads log_config go here; with a root handler present,
        # Freqtrade's start-up console handler (logging.basicConfig) is not installed.
        early = logging.StreamHandler(sink)
        early.setFormatter(logging.Formatter(LOG_FORMAT))
        root.handlers = [early]
        root.setLevel(logging.INFO)
        shown, warnings.showwarning = warnings.showwarning, _warnings_to(terminal)
        try:
            with redirect_stdout(sink), redirect_stderr(sink):
                yield
        finally:
            warnings.showwarning = shown
            if early in root.handlers:  # Freqtrade stopped before configuring its logging
                after = logging.FileHandler(log_file, encoding="utf-8")
                after.setFormatter(logging.Formatter(LOG_FORMAT))
                root.handlers = [after]


def run_freqtrade_logged(argv: Sequence[str], log_file: Path, terminal: Console) -> int:
    """``tribar ft ARGV`` in this process, its output in ``log_file``; its exit code."""
    with output_to_log(log_file, terminal):
        print(f"\n===== tribar ft {' '.join(argv)}", flush=True)
        return run_freqtrade(list(argv))


def terminal_console() -> Console:
    """The demo's own output: the real stdout, even while Freqtrade's is redirected."""
    return Console(file=sys.stdout, highlight=False)
