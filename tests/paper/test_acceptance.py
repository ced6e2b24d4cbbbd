"""Acceptance criteria and uptime on constructed runs (no bot)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from tribar.analysis.analytics.performance import profit_factor_or_none as profit_factor
from tribar.paper.acceptance import AcceptanceThresholds, judge
from tribar.paper.heartbeat import HeartbeatRecorder, read_heartbeats, uptime

START = datetime(2025, 6, 1, tzinfo=UTC)


def closed(profits: list[float], days: int) -> pd.DataFrame:
    step = timedelta(days=days) / (len(profits) + 1)
    return pd.DataFrame(
        {"profit_abs": profits, "close_date": [START + step * (i + 1) for i in range(len(profits))]}
    )


def run(trades: pd.DataFrame, days: int, **kw: object):
    defaults: dict = dict(
        start=START, end=START + timedelta(days=days), starting_balance=1000.0, open_trades=0,
        uptime=0.999, latency_p95_ms=120.0, slippage_bps=pd.Series([1.0, 3.0]),
        edge_gate=(1, 4), thresholds=AcceptanceThresholds(),
    )  # fmt: skip
    defaults.update(kw)
    return judge(trades, **defaults)


def test_a_good_long_run_is_go_and_a_short_one_is_too_short() -> None:
    profits = [12.0, -4.0, 9.0, 11.0, -3.0] * 8  # 40 trades, 60 % wins
    result = run(closed(profits, 28), 28)
    assert result.verdict == "GO", result.reason
    assert {c.name: c.passed for c in result.criteria} == dict.fromkeys(
        ["win rate", "Sharpe", "max drawdown", "uptime", "order latency p95"], True
    )
    assert result.figures.profit_factor == pytest.approx(sum(p for p in profits if p > 0) / 56.0)
    assert result.figures.trades_per_week == pytest.approx(10.0)
    assert result.figures.edge_gate_open_share == 0.25
    short = run(closed(profits[:10], 5), 5)
    assert short.verdict == "TOO SHORT" and "10 closed trade(s)" in short.reason


def test_each_failing_criterion_makes_it_no_go() -> None:
    profits = [12.0, -4.0, 9.0, 11.0, -3.0] * 8
    assert run(closed(profits, 28), 28, uptime=0.99).reason == "failed: uptime"
    assert run(closed(profits, 28), 28, latency_p95_ms=900.0).reason == "failed: order latency p95"
    losing = [-30.0, 5.0, -2.0] * 12  # a third of the trades win
    result = run(closed(losing, 28), 28)
    assert result.verdict == "NO-GO"
    assert {"win rate", "Sharpe", "max drawdown"} <= set(
        result.reason.removeprefix("failed: ").split(", ")
    )
    # An unmeasured figure is not a pass.
    assert "uptime" in run(closed(profits, 28), 28, uptime=None).reason


def test_profit_factor_conventions() -> None:
    assert profit_factor(pd.Series([], dtype=float)) is None
    assert profit_factor(pd.Series([1.0, 2.0])) == math.inf  # tribar's one convention
    assert profit_factor(pd.Series([0.0])) is None  # neither profit nor loss: undefined
    assert profit_factor(pd.Series([-1.0])) == 0.0
    assert profit_factor(pd.Series([3.0, -1.0, -2.0])) == 1.0


def test_thresholds_reject_percent_written_as_whole_numbers() -> None:
    with pytest.raises(ValidationError, match="min_win_rate"):
        AcceptanceThresholds(min_win_rate=52)


def test_uptime_counts_gaps_beyond_the_allowed_one(tmp_path: Path) -> None:
    end = START + timedelta(hours=10)
    every_5_min = [START + timedelta(minutes=5 * i) for i in range(121)]
    assert uptime(every_5_min, START, end, timedelta(minutes=10)) == 1.0
    # A 2-hour hole: 2 h - 10 min allowed = 110 min down of 600.
    holed = [
        b for b in every_5_min if not START + timedelta(hours=4) < b < START + timedelta(hours=6)
    ]
    assert uptime(holed, START, end, timedelta(minutes=10)) == pytest.approx(1 - 110 / 600)
    assert uptime([], START, end, timedelta(minutes=10)) == pytest.approx(1 - 590 / 600)

    path = tmp_path / "beats.log"
    recorder = HeartbeatRecorder(path)
    for b in every_5_min[:3]:
        recorder.beat(b)
        recorder.beat(b + timedelta(seconds=5))  # within a minute: not written again
    assert read_heartbeats(path) == every_5_min[:3]
    path.write_text("not a time\n")
    with pytest.raises(ValueError, match=r"beats\.log:1"):
        read_heartbeats(path)


def test_a_heartbeat_file_that_cannot_be_written_never_raises(tmp_path: Path) -> None:
    recorder = HeartbeatRecorder(tmp_path / "missing-dir" / "beats.log")
    recorder.beat(START)
    recorder.beat(START + timedelta(minutes=5))
    assert not (tmp_path / "missing-dir").exists()
