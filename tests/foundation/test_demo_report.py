"""The parts of ``tribar demo`` that are not Freqtrade: its progress count, what it prints, where
Freqtrade's output goes. The whole command runs in test_demo_end_to_end.py."""

from __future__ import annotations

import io
import json
import logging
import math
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from freqtrade.configuration import TimeRange
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from rich.console import Console

from tribar.demo import _gate_decision
from tribar.demo_figures import ArmFigures, figures
from tribar.demo_freqtrade import output_to_log
from tribar.demo_progress import (
    TRAINING_LOGGER,
    counting_trainings,
    demo_progress,
    walk_forward_windows,
)
from tribar.demo_summary import GateDecision, factor, figures_table, gate_sentence
from tribar.ml.freqai_model import TRAINING_FINISHED, TrainingFinished


def freqai_windows(timerange: str, train_days: int, backtest_days: int) -> int:
    """FreqAI's own count: split_timerange over the range extended by the training days."""
    full = TimeRange.parse_timerange(timerange)
    full.startts -= train_days * 86400
    kitchen = SimpleNamespace(config={"timerange": timerange})
    _, backtests = FreqaiDataKitchen.split_timerange(
        kitchen,  # type: ignore[arg-type]
        full.timerange_str,
        train_days,
        backtest_days,
    )
    return len(backtests)


@pytest.mark.parametrize(
    ("timerange", "train_days", "backtest_days"),
    [
        ("20250501-20251001", 90, 30),  # the demo: 153 days, the last window 3 days
        ("20250701-20250830", 30, 30),  # exactly two windows
        ("20250101-20251001", 60, 14),
        ("20250601-20250602", 90, 30),
    ],
)
def test_the_progress_total_is_freqais_number_of_windows(
    timerange: str, train_days: int, backtest_days: int
) -> None:
    tr = TimeRange.parse_timerange(timerange)
    start, end = (datetime.fromtimestamp(ts, tz=UTC) for ts in (tr.startts, tr.stopts))
    ours = walk_forward_windows(start, end, backtest_days)
    assert ours == freqai_windows(timerange, train_days, backtest_days)


def test_each_finished_training_moves_the_bar_once() -> None:
    console = Console(file=io.StringIO(), width=120)
    training_log = logging.getLogger(TRAINING_LOGGER)
    with demo_progress(console) as progress:
        task = progress.add_task("walk-forward trainings", total=3)
        with counting_trainings(progress, task) as counter:
            for pair, passed in [("BTC/USDT", False), ("ETH/USDT", True)]:
                finished = TrainingFinished(pair, trained=True, edge_gate_passed=passed)
                training_log.info("done", extra={TRAINING_FINISHED: finished})
            training_log.info("a record without the attribute is no training")
        assert progress.tasks[task].completed == 2
        assert "ETH/USDT; edge gate passed: 1" in progress.tasks[task].description
    assert [f.pair for f in counter.finished] == ["BTC/USDT", "ETH/USDT"]
    assert not any(isinstance(h, type(counter)) for h in training_log.handlers)


def test_freqtrades_output_goes_to_the_log_and_warnings_to_the_terminal(tmp_path: Path) -> None:
    log = tmp_path / "demo" / "freqtrade.log"
    screen = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with output_to_log(log, Console(file=screen, width=200)):
            print("a result table")
            print("a progress bar", file=sys.stderr)
            logging.getLogger("freqtrade.test").info("an INFO line")
            warnings.warn_explicit("a real problem", UserWarning, "somewhere.py", 7)
        logging.getLogger("tribar.after").warning("logged after the run")
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved
    written = log.read_text()
    for line in ("a result table", "a progress bar", "an INFO line", "logged after the run"):
        assert line in written
    assert "a real problem" not in written
    assert "somewhere.py:7: UserWarning: a real problem" in screen.getvalue()
    assert "a result table" not in screen.getvalue()


def test_figures_are_the_equity_curves_and_trades() -> None:
    equity = pd.Series([1000.0, 1100.0, 880.0, 990.0])
    arm = figures("arm", equity, pd.Series([50.0, -25.0, -15.0]))
    assert arm.trades == 3
    assert arm.total_return == pytest.approx(-0.01)
    assert arm.max_drawdown == pytest.approx(0.2)  # 1100 -> 880
    assert arm.profit_factor == pytest.approx(50 / 40)
    flat = figures("flat", pd.Series([1000.0, 1000.0]), pd.Series(dtype=float))
    assert (flat.trades, flat.total_return, flat.max_drawdown) == (0, 0.0, 0.0)
    assert math.isnan(flat.profit_factor)


def test_the_summary_table_and_sentence() -> None:
    on = ArmFigures("shipped (gate on)", 0, 0.0, 0.0, math.nan)
    off = ArmFigures("same models, gate off", 82, -0.015394, 0.02241, 0.7678)
    hold = ArmFigures("buy-and-hold", 6, 0.5434, 0.235, math.inf)
    out = io.StringIO()
    Console(file=out, width=80).print(figures_table([on, off, hold]))
    lines = out.getvalue().splitlines()
    assert lines[1].split() == ["shipped", "(gate", "on)", "+0.00", "%", "0.00", "%", "0", "n/a"]
    assert lines[2].split()[-6:] == ["-1.54", "%", "2.24", "%", "82", "0.77"]
    assert lines[3].split()[-6:] == ["+54.34", "%", "23.50", "%", "6", "\u221e"]
    assert factor(math.nan) == "n/a"
    sentence = gate_sentence(GateDecision(0, 36, 6, 6), on, off, hold).replace("\u00a0", " ")
    assert sentence == (
        "The edge gate found an edge in none of the 36 trainings (6 pairs \u00d7 6 windows), so "
        "every model predicted its pair's long-run take-profit rate and the shipped strategy did "
        "not trade; with the gate off, the same models' calibrated probabilities would have "
        "returned -1.54 % over 82 trades (buy-and-hold: +54.34 %)."
    )
    traded = gate_sentence(
        GateDecision(2, 36, 6, 6), ArmFigures("on", 3, 0.01, 0.0, 2.0), off, hold
    ).replace("\u00a0", " ")
    assert traded.startswith("The edge gate found an edge in 2 of the 36 trainings")
    assert "and the shipped strategy made 3 trades (+1.00 %); with the gate off" in traded


def test_the_gate_decision_comes_from_the_trainings_saved_metrics(tmp_path: Path) -> None:
    models = tmp_path / "models" / "tribar-demo"
    assert _gate_decision(models, 1, 3) is None  # no gated training: the gate is off
    for i, passed in enumerate([False, True, False]):
        folder = models / f"sub-train-BTC_{i}"
        folder.mkdir(parents=True)
        (folder / "tribar_metrics.json").write_text(json.dumps({"edge_gate": {"passed": passed}}))
    assert _gate_decision(models, 1, 3) == GateDecision(passed=1, judged=3, pairs=1, windows=3)
