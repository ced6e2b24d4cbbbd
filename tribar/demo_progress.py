"""The demo's progress bar over FreqAI's walk-forward trainings.

TripleBarrierLGBM logs one record per training with a ``TrainingFinished`` attached
(``tribar.ml.freqai_model``); this handler moves a rich progress bar with each. It listens on
tribar's own logger, which Freqtrade's logging setup leaves alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from tribar.ml.freqai_model import TRAINING_FINISHED, TrainingFinished

TRAINING_LOGGER = "tribar.ml.freqai_model"


def walk_forward_windows(start: datetime, end: datetime, backtest_period_days: float) -> int:
    """FreqAI's number of test windows over ``[start, end)``: it slides by
    ``backtest_period_days`` and cuts the last window at the end of the range
    (``FreqaiDataKitchen.split_timerange``)."""
    if backtest_period_days <= 0:
        raise ValueError(f"backtest_period_days must be > 0, got {backtest_period_days}")
    days = (end - start).total_seconds() / 86400
    return max(math.ceil(days / backtest_period_days - 1e-9), 1)


class TrainingProgress(logging.Handler):
    """Advances ``task`` of ``progress`` by one per finished training."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        super().__init__(level=logging.INFO)
        self.progress, self.task = progress, task
        self.finished: list[TrainingFinished] = []

    def emit(self, record: logging.LogRecord) -> None:
        finished = getattr(record, TRAINING_FINISHED, None)
        if not isinstance(finished, TrainingFinished):
            return
        self.finished.append(finished)
        passed = sum(1 for f in self.finished if f.edge_gate_passed)
        self.progress.update(
            self.task,
            advance=1,
            description=f"walk-forward trainings ({finished.pair}; edge gate passed: {passed})",
        )


def demo_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        # Freqtrade's output is redirected to the log meanwhile; Live must not redirect it back.
        redirect_stdout=False,
        redirect_stderr=False,
    )


@contextmanager
def counting_trainings(progress: Progress, task: TaskID) -> Iterator[TrainingProgress]:
    handler = TrainingProgress(progress, task)
    logger = logging.getLogger(TRAINING_LOGGER)
    # The records are INFO; whatever the root logger's level, they must reach the handler.
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
