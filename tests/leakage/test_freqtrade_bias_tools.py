"""Freqtrade's own lookahead-/recursive-analysis on the ML strategy, with row-level evidence.

Freqtrade's tools report ``has_bias`` for FreqAI strategies because of FreqAI's half-open
prediction window (see tribar/leakage.py and docs/leakage.md). These tests run the tools
unchanged (as subclasses that only record the compared frames) and assert where every
difference between the full and the cut runs lies:

* no candle strictly before the cut run's last candle differs in any column: OHLCV, all 117
  FreqAI features (kept in the frames with ``--keep-features``), predictions, indicators, signals;
* on the cut run's last candle only FreqAI's outputs and what the strategy derives from them
  differ, and the cut run's values there are exactly FreqAI's zero fill.

A strategy with a planted 2-candle lookahead feature shows the same check fails when it should.
Every run uses a throw-away ``--userdir`` and FreqAI identifier: the analyses delete
``<userdir>/models/<identifier>``.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import pytest
from freqtrade.configuration.load_config import load_from_files

from tests.foundation.ftrun import run_tribar
from tests.leakage._support import (
    ALLOWED_AT_CUT_END,
    FREQAI_OUTPUTS,
    LABEL,
    PLANTED_FEATURE,
    PLANTED_LEAK_STRATEGY,
    REPO_ROOT,
    STRATEGY,
    common_args,
    make_userdir,
    run_recorders,
    scratch_identifier,
)
from tribar.barrier_trade import expected_barrier_return
from tribar.labels import BarrierSpec
from tribar.leakage import FrameComparison, LeakageReport, unexplained_differences
from tribar.ml.barrier_classifier import NO_TAKE_PROFIT, TAKE_PROFIT
from tribar.strategies.TripleBarrierML import TripleBarrierML

pytestmark = pytest.mark.freqtrade


@cache
def barrier_spec() -> BarrierSpec:
    """The strategy's barriers: its k_tp/k_sl defaults, config.json's horizon and fee."""
    return TripleBarrierML(load_from_files([str(REPO_ROOT / "config.json")])).barrier_spec


MIN_TRADES, TARGET_TRADES = 5, 6


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LeakageReport]:
    """One interpreter runs the three recording analyses, each in its own user dir."""
    base = tmp_path_factory.mktemp("recorded")
    identifier = scratch_identifier("recorded")
    jobs = {
        "lookahead": ("lookahead-analysis", STRATEGY, [
            "--minimum-trade-amount", str(MIN_TRADES),
            "--targeted-trade-amount", str(TARGET_TRADES),
        ]),
        "recursive": ("recursive-analysis", STRATEGY, ["--startup-candle", "199"]),
        "planted": ("recursive-analysis", PLANTED_LEAK_STRATEGY, ["--startup-candle", "400"]),
    }  # fmt: skip
    userdirs = {name: make_userdir(base / name) for name in jobs}
    result = run_recorders(
        [
            {
                "command": command,
                "args": [*common_args(userdirs[name], strategy), *extra],
                "report": str(base / f"{name}.json"),
            }
            for name, (command, strategy, extra) in jobs.items()
        ],
        identifier,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for userdir in userdirs.values():
        # The analyses worked (and deleted) only inside the throw-away user dirs.
        assert (userdir / "models" / identifier).is_dir(), output[-2000:]
    return {name: LeakageReport.from_json((base / f"{name}.json").read_text()) for name in jobs}


@pytest.fixture(scope="module")
def lookahead(reports: dict[str, LeakageReport]) -> LeakageReport:
    return reports["lookahead"]


@pytest.fixture(scope="module")
def recursive(reports: dict[str, LeakageReport]) -> LeakageReport:
    return reports["recursive"]


def _describe(cells: list) -> str:
    return "\n".join(f"  {d.date} {d.column}: full={d.full!r} cut={d.cut!r}" for d in cells[:20])


def _assert_identical_before_cut(comparison: FrameComparison) -> None:
    features = [c for c in comparison.columns_compared if c.startswith("%")]
    assert comparison.index_aligned, "Freqtrade's index alignment differs from date alignment"
    assert len(features) >= 100, f"FreqAI features not compared ({len(features)})"
    assert comparison.rows_compared > 1000
    unexplained = unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert comparison.n_differences_before_end == 0 and not unexplained, (
        f"{comparison.check} cut at {comparison.cut_end}: differences not explained by FreqAI's "
        f"prediction window ({comparison.n_differences_before_end} before the cut's last "
        f"candle):\n{_describe(unexplained)}"
    )


def _assert_cut_end_is_freqai_zero_fill(comparison: FrameComparison) -> None:
    """On the cut's last candle the full run has a real prediction, the cut run FreqAI's 0 fill,
    and every derived difference follows from that."""
    full, cut = comparison.end_row_full, comparison.end_row_cut
    where = f"{comparison.check} cut at {comparison.cut_end}"
    for column in FREQAI_OUTPUTS:
        assert cut[column] == 0, f"{where}: {column} = {cut[column]!r}, not FreqAI's 0 fill"
    assert full[LABEL] in (TAKE_PROFIT, NO_TAKE_PROFIT), where
    assert math.isclose(full[TAKE_PROFIT] + full[NO_TAKE_PROFIT], 1.0, abs_tol=1e-9), where
    assert full["do_predict"] in (0.0, 1.0), where
    # The edge is the same formula on a different probability; price and ATR are identical.
    assert cut["close"] == full["close"] and cut["tribar_atr"] == full["tribar_atr"], where
    for row, p in ((cut, 0.0), (full, full[TAKE_PROFIT])):
        expected = float(
            expected_barrier_return(p, row["close"], row["tribar_atr"], barrier_spec())
        )
        assert row["tribar_edge"] == pytest.approx(expected, rel=1e-12), where
    # P(tp) = 0 is below any entry threshold: no entry on the cut's last candle.
    assert cut.get("enter_long") in (None, 0, 0.0), where


# --- lookahead-analysis --------------------------------------------------------------------


def test_lookahead_analysis_finds_no_biased_entry_or_exit_signal(lookahead: LeakageReport) -> None:
    assert lookahead.total_signals is not None and lookahead.total_signals >= MIN_TRADES
    assert lookahead.false_entry_signals == 0
    assert lookahead.false_exit_signals == 0
    # One entry and one exit cut run per analysed trade, each compared with the full run.
    assert len(lookahead.comparisons) == 2 * lookahead.total_signals


def test_lookahead_cut_runs_match_the_full_run_on_every_candle_before_the_cut(
    lookahead: LeakageReport,
) -> None:
    for comparison in lookahead.comparisons:
        _assert_identical_before_cut(comparison)


def test_lookahead_cut_end_differences_are_freqai_zero_fill(lookahead: LeakageReport) -> None:
    for comparison in lookahead.comparisons:
        _assert_cut_end_is_freqai_zero_fill(comparison)


def test_lookahead_flags_exactly_the_columns_that_differ_on_the_cut_candle(
    lookahead: LeakageReport,
) -> None:
    """Freqtrade's ``biased_indicators`` are fully accounted for by the last-candle fill."""
    at_end = set().union(*(c.columns_differing_at_end() for c in lookahead.comparisons))
    assert set(lookahead.false_indicators) == at_end
    assert at_end <= ALLOWED_AT_CUT_END
    assert lookahead.has_bias  # what Freqtrade concludes, for the reason shown above


def test_boundary_candles_get_the_full_runs_prediction_once_inside_a_window(
    lookahead: LeakageReport,
) -> None:
    """The zero-filled candle of an entry cut run lies before the end of the same trade's exit
    cut run whenever the trade lasted a candle or more; there it equals the full run's real
    prediction (no difference before the cut), so the value is not a future-only artefact."""
    entries = [c for c in lookahead.comparisons if c.check == "lookahead-entry"]
    exits = [c for c in lookahead.comparisons if c.check == "lookahead-exit"]
    covered = [
        (entry, exit_) for entry, exit_ in zip(entries, exits, strict=True)
        if entry.cut_end < exit_.cut_end
    ]  # fmt: skip
    assert covered, "no trade held for a candle; nothing to cross-check"
    for entry, exit_ in covered:
        assert exit_.n_differences_before_end == 0
        assert entry.end_row_full[TAKE_PROFIT] > 0.0


# --- recursive-analysis --------------------------------------------------------------------


def test_recursive_indicator_lookahead_is_the_cut_candles_zero_fill(
    recursive: LeakageReport,
) -> None:
    (comparison,) = recursive.comparisons
    _assert_identical_before_cut(comparison)
    _assert_cut_end_is_freqai_zero_fill(comparison)
    assert set(recursive.flagged_lookahead) == comparison.columns_differing_at_end()
    assert set(recursive.flagged_lookahead) <= ALLOWED_AT_CUT_END


def test_recursive_startup_candles_do_not_change_the_last_candle(recursive: LeakageReport) -> None:
    """Freqtrade's recursive check proper: the last candle is the same whatever the number of
    startup candles (FreqAI loads its 90 training days before the range anyway). Only float
    rounding (|relative change| < 1e-9) is tolerated."""
    changes = [v for values in recursive.recursive_variance.values() for v in values.values()]
    # Freqtrade reports a change it cannot express as a ratio (NaN vs value, 0) as None.
    assert all(v is not None and abs(v) < 1e-9 for v in changes), recursive.recursive_variance


# --- the same check on a strategy with a real lookahead ------------------------------------


def test_planted_two_candle_lookahead_is_caught(reports: dict[str, LeakageReport]) -> None:
    report = reports["planted"]
    (comparison,) = report.comparisons
    unexplained = unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert comparison.n_differences_before_end >= 1
    planted = [d for d in unexplained if d.column == PLANTED_FEATURE]
    # It reads close[t+2]: the cut run lacks it on its last two candles only.
    assert len(planted) == 2 and all(d.cut is None for d in planted)
    # The leak spreads to the predictions of those candles (the model refuses rows with a
    # missing feature) and to nothing else.
    prediction_columns = {
        "tp",
        "no_tp",
        "tp_gate_off",
        "tribar_p_tp",
        "do_predict",
        "tribar_edge",
        "&-tb",
        "enter_long",
        "enter_tag",
    }
    others = {d.column for d in unexplained} - {PLANTED_FEATURE}
    assert others <= prediction_columns, others
    assert {d.date for d in unexplained} == {d.date for d in planted}
    assert PLANTED_FEATURE in report.flagged_lookahead


# --- the plain CLI commands, as users run them ---------------------------------------------


def test_lookahead_analysis_cli_exports_zero_biased_signals(tmp_path: Path) -> None:
    identifier = scratch_identifier("cli-lookahead")
    userdir = make_userdir(tmp_path)
    export = tmp_path / "lookahead.csv"
    result = run_tribar(
        "ft", "lookahead-analysis", *common_args(userdir),
        "--minimum-trade-amount", "2", "--targeted-trade-amount", "3",
        "--lookahead-analysis-exportfilename", str(export),
        env={"FREQTRADE__FREQAI__IDENTIFIER": identifier},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Lookahead Analysis" in output
    assert (userdir / "models" / identifier).is_dir()
    with export.open(newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["strategy"] == "TripleBarrierMLLeakCheck"
    assert int(row["total_signals"]) >= 3
    assert int(row["biased_entry_signals"]) == 0
    assert int(row["biased_exit_signals"]) == 0
    flagged = {c for c in row["biased_indicators"].split(",") if c}
    assert flagged <= ALLOWED_AT_CUT_END, flagged - ALLOWED_AT_CUT_END


def test_recursive_analysis_cli_flags_only_freqai_outputs(tmp_path: Path) -> None:
    identifier = scratch_identifier("cli-recursive")
    userdir = make_userdir(tmp_path)
    result = run_tribar(
        "ft", "recursive-analysis", *common_args(userdir), "--startup-candle", "400",
        env={"FREQTRADE__FREQAI__IDENTIFIER": identifier},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Start checking for lookahead bias on indicators only" in output
    flagged = {
        line.rsplit("found lookahead in indicator ", 1)[1].strip()
        for line in output.splitlines()
        if "found lookahead in indicator " in line
    }
    assert flagged, "expected FreqAI's zero-filled last candle to be flagged"
    assert flagged <= ALLOWED_AT_CUT_END, flagged - ALLOWED_AT_CUT_END
