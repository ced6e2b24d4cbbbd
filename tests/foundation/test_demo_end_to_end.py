"""``tribar demo`` as a newcomer runs it: a short terminal summary whose figures are those of the
files it names, recomputed here from the result zip (freqtrade.data.btanalysis), the candles and
the models' saved files; no warning; a report whose charts draw in Chromium."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from freqtrade.configuration.load_config import load_from_files
from freqtrade.data.btanalysis import (
    get_backtest_wallet_change,
    load_backtest_data,
    load_backtest_stats,
)

from tests.analytics.test_report import chart_segments, find_chromium, render_dom
from tests.foundation.ftrun import REPO_ROOT, run_tribar

pytestmark = pytest.mark.freqtrade

SHIPPED, GATE_OFF = "TripleBarrierML", "TripleBarrierMLGateOff"
ROW_LABELS = {SHIPPED: "shipped (gate on)", GATE_OFF: "same models, gate off"}
PERCENT = r"([+-]?\d+\.\d+) %"


@dataclass(frozen=True)
class Demo:
    output: str
    user_data: Path
    files: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    user_data = tmp_path_factory.mktemp("demo") / "user_data"
    user_data.mkdir()
    proc = run_tribar("demo", "--user-data-dir", str(user_data), timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    files = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^  ([A-Za-z' ]+?)\s{2,}(\S+)", proc.stdout, re.MULTILINE)
    }
    return Demo(output, user_data, files)


def row(output: str, label: str) -> tuple[float, float, int, float]:
    """(total return %, max drawdown %, trades, profit factor) as printed in the table."""
    match = re.search(
        rf"^{re.escape(label)}\s+{PERCENT}\s+{PERCENT}\s+(\d+)\s+(\S+)$", output, re.MULTILINE
    )
    assert match, f"no table row {label!r} in:\n{output}"
    pf = {"n/a": math.nan, "\u221e": math.inf}.get(match.group(4))
    return (
        float(match.group(1)),
        float(match.group(2)),
        int(match.group(3)),
        float(match.group(4)) if pf is None else pf,
    )


def same_factor(printed: float, expected: float) -> bool:
    if math.isnan(expected) or math.isinf(expected):
        return math.isnan(printed) if math.isnan(expected) else printed == expected
    return abs(printed - expected) <= 0.005 + 1e-9


def mark_to_market_drawdown(equity: np.ndarray) -> float:
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def config() -> dict:
    return load_from_files([str(REPO_ROOT / "config.json")])


def test_the_terminal_shows_progress_and_a_short_summary_without_warnings(demo: Demo) -> None:
    assert "warning" not in demo.output.lower(), demo.output
    assert "Traceback" not in demo.output
    # Freqtrade's INFO lines and tables are in the log, not on the terminal.
    assert " - INFO - " not in demo.output and "BACKTESTING REPORT" not in demo.output
    assert len(demo.output.splitlines()) < 45, demo.output
    log = Path(demo.files["Freqtrade log"]).read_text()
    assert "Backtesting with data from" in log and "BACKTESTING REPORT" in log
    assert "PerformanceWarning" not in log and "FutureWarning" not in log
    pairs = len(config()["exchange"]["pair_whitelist"])
    done = re.search(r"walk-forward trainings .*?(\d+)/(\d+)", demo.output)
    assert done and done.group(1) == done.group(2) and int(done.group(2)) % pairs == 0
    seconds = int(re.search(r"finished in\s+(\d+) s", demo.output).group(1))  # type: ignore[union-attr]
    assert seconds < 600  # a gross regression guard; the budget (~2 min) is measured by hand


def test_each_strategys_figures_are_its_result_files(demo: Demo) -> None:
    result = Path(demo.files["backtest result"])
    stats = load_backtest_stats(result)
    for strategy, label in ROW_LABELS.items():
        total, drawdown, trades, pf = row(demo.output, label)
        s = stats["strategy"][strategy]
        frame = load_backtest_data(result, strategy)
        assert trades == s["total_trades"] == len(frame)
        # Every trade closed by the end of the range, so the final wallet is Freqtrade's.
        assert total == pytest.approx(100 * s["profit_total"], abs=0.005 + 1e-9)
        if len(frame):
            gains = frame.loc[frame["profit_abs"] > 0, "profit_abs"].sum()
            losses = -frame.loc[frame["profit_abs"] < 0, "profit_abs"].sum()
            expected_pf = gains / losses if losses else math.inf
            assert expected_pf == pytest.approx(s["profit_factor"], rel=1e-9)
        else:
            expected_pf = math.nan
        assert same_factor(pf, expected_pf), (label, pf, expected_pf)
        # Mark-to-market: every hourly wallet snapshot, between the starting and final balance.
        wallet = get_backtest_wallet_change(result, strategy)
        snapshots = wallet.groupby("date")["total_quote"].sum().to_numpy(float)
        equity = np.concatenate([[s["starting_balance"]], snapshots, [s["final_balance"]]])
        assert drawdown == pytest.approx(100 * mark_to_market_drawdown(equity), abs=0.005 + 1e-9)
        # Freqtrade's own (closed trades) drawdown never sees more than the open positions do.
        assert 100 * s["max_drawdown_account"] <= drawdown + 0.005


def test_buy_and_hold_is_the_same_pairs_held_from_the_first_open(demo: Demo) -> None:
    cfg = config()
    pairs = cfg["exchange"]["pair_whitelist"]
    wallet, fee = float(cfg["dry_run_wallet"]), float(cfg["fee"])
    start, end = pd.Timestamp("2025-05-01", tz="UTC"), pd.Timestamp("2025-10-01", tz="UTC")
    values, final = [], 0.0
    for pair in pairs:
        candles = pd.read_feather(
            REPO_ROOT / "user_data/data/binance" / f"{pair.replace('/', '_')}-1h.feather"
        )
        candles = candles[(candles["date"] >= start) & (candles["date"] < end)]
        units = wallet / len(pairs) / (1 + fee) / candles["open"].iloc[0]
        values.append((units * candles.set_index("date")["open"]).rename(pair))
        final += units * candles["close"].iloc[-1]
    hourly = pd.concat(values, axis=1).ffill().sum(axis=1).to_numpy()
    equity = np.concatenate([[wallet], hourly[1:], [final]])
    total, drawdown, trades, _ = row(demo.output, "buy-and-hold")
    assert trades == len(pairs)
    assert total == pytest.approx(100 * (final / wallet - 1), abs=0.005 + 1e-9)
    assert drawdown == pytest.approx(100 * mark_to_market_drawdown(equity), abs=0.005 + 1e-9)


def test_the_gate_sentence_counts_the_saved_trainings(demo: Demo) -> None:
    decisions = [
        json.loads(p.read_text())["edge_gate"]["passed"]
        for p in Path(demo.files["models"]).glob("sub-train-*/tribar_metrics.json")
    ]
    sentence = " ".join(demo.output.split())
    match = re.search(
        r"found an edge in (none|\d+) of the (\d+) trainings \((\d+) pairs \u00d7 (\d+) windows\)",
        sentence,
    )
    assert match, sentence
    passed = 0 if match.group(1) == "none" else int(match.group(1))
    assert passed == sum(decisions) and int(match.group(2)) == len(decisions)
    assert int(match.group(3)) * int(match.group(4)) == len(decisions)
    total, _, trades, _ = row(demo.output, ROW_LABELS[GATE_OFF])
    assert f"would have returned {total:+.2f} % over {trades} trades" in sentence
    if row(demo.output, ROW_LABELS[SHIPPED])[2] == 0:
        assert "the shipped strategy did not trade" in sentence


def traded_arm(demo: Demo) -> tuple[str, int]:
    match = re.search(r"(\w+): (\d+) trades, (\d+) of them with the model's", demo.output)
    assert match, demo.output
    assert match.group(2) == match.group(3), "a trade lacks its model confidence"
    return match.group(1), int(match.group(2))


def test_every_reported_trade_has_the_models_probability_at_its_signal_candle(
    demo: Demo,
) -> None:
    strategy, trades = traded_arm(demo)
    assert trades == row(demo.output, ROW_LABELS[strategy])[2] > 0
    engine = sa.create_engine(demo.files["trade ledger"])
    with engine.connect() as conn:
        ledger = pd.read_sql(
            sa.text("SELECT symbol, entry_time, model_confidence FROM trades WHERE strategy = :s"),
            conn,
            params={"s": strategy},
        )
    engine.dispose()
    assert len(ledger) == trades and ledger["model_confidence"].notna().all()
    # FreqAI's own saved predictions (one file per pair and window), independent of the export.
    column = "tp_gate_off" if strategy == GATE_OFF else "tp"
    predictions = Path(demo.files["models"]) / "backtesting_predictions"
    for symbol, group in ledger.groupby("symbol"):
        coin = symbol.split("/")[0].lower()
        saved = pd.concat(
            pd.read_feather(f)[["date", column]]
            for f in predictions.glob(f"cb_{coin}_*_prediction.feather")
        )
        saved = saved.set_index(pd.to_datetime(saved["date"], utc=True))[column]
        signal = pd.to_datetime(group["entry_time"], utc=True) - pd.Timedelta(hours=1)
        np.testing.assert_allclose(
            group["model_confidence"].to_numpy(), saved.loc[signal].to_numpy(), rtol=1e-12
        )


def test_the_report_and_profit_plot_show_charts(demo: Demo) -> None:
    traded_arm(demo)
    report = Path(demo.files["HTML report"])
    segments = chart_segments(render_dom(find_chromium(), report))
    for chart, html in segments.items():
        assert 'class="main-svg"' in html, f"{chart} did not render"
    assert re.search(r'class="js-line"[^>]*d="M', segments["equity-chart"])
    assert re.search(r'class="js-line"[^>]*d="M', segments["drawdown-chart"])
    bars = re.findall(
        r'<g class="point"><path d="M[\d.]+,([\d.]+)V([\d.]+)H', segments["confidence-chart"]
    )
    assert any(top != bottom for top, bottom in bars), "confidence vs pnl has no bar"
    assert "<image" in segments["heatmap-chart"]
    plot = Path(demo.files["profit plot"])
    assert plot.parent == demo.user_data / "plot" and plot.stat().st_size > 1_000_000
    page = plot.read_text()
    assert "Freqtrade Profit plot" in page and "Profit per pair" in page
