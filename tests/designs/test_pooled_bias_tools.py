"""Freqtrade's lookahead-analysis and recursive-analysis on the pooled design.

lookahead-analysis re-runs every signal with that signal's pair as the only whitelisted pair, so
for a model pooled over the whitelist it is only meaningful with one pair throughout: here the
whole run is BTC/USDT alone (the pooled training, its cache, the cut at each window and the
pair-normalised features all run; the cross-sectional ranks are trivial). The several-pair case
is covered by tests/designs/test_pooled_leakage.py (future perturbation of every pair, and the
data cut after a day leaving every pair's predictions unchanged). recursive-analysis runs with
three pairs, so the cross-sectional features are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leakage._support import (
    ALLOWED_AT_CUT_END,
    DATA_DIR,
    TIMERANGE,
    make_userdir,
    run_recorders,
    scratch_identifier,
)
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.leakage import LeakageReport, unexplained_differences

pytestmark = pytest.mark.freqtrade

STRATEGY = "TripleBarrierMLPooledLeakCheck"
MIN_TRADES = 3


def _args(userdir: Path, *pairs: str) -> list[str]:
    return [
        "-c", "config.json", "-c", "config/edge-gate-off.json",
        "--strategy", STRATEGY, "--strategy-path", "tests/designs/strategies",
        "--freqaimodel", "TripleBarrierLGBMPooled",
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(DATA_DIR), "--timerange", TIMERANGE, "--pairs", *pairs,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LeakageReport]:
    base = tmp_path_factory.mktemp("recorded-pooled")
    identifier = scratch_identifier("pooled")
    jobs = {
        "lookahead": ("lookahead-analysis", ["BTC/USDT"], [
            "--minimum-trade-amount", str(MIN_TRADES), "--targeted-trade-amount", "4",
        ]),
        "recursive": (
            "recursive-analysis", ["BTC/USDT", "ETH/USDT", "SOL/USDT"],
            ["--startup-candle", "199"],
        ),
    }  # fmt: skip
    userdirs = {name: make_userdir(base / name) for name in jobs}
    result = run_recorders(
        [
            {
                "command": command,
                "args": [*_args(userdirs[name], *pairs), *extra],
                "report": str(base / f"{name}.json"),
            }
            for name, (command, pairs, extra) in jobs.items()
        ],
        identifier,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for userdir in userdirs.values():
        assert (userdir / "models" / identifier).is_dir(), output[-2000:]
    return {name: LeakageReport.from_json((base / f"{name}.json").read_text()) for name in jobs}


def test_lookahead_analysis_finds_no_biased_signal_in_the_pooled_strategy(
    reports: dict[str, LeakageReport],
) -> None:
    report = reports["lookahead"]
    assert report.total_signals is not None and report.total_signals >= MIN_TRADES
    assert report.false_entry_signals == 0 and report.false_exit_signals == 0
    assert len(report.comparisons) == 2 * report.total_signals
    for comparison in report.comparisons:
        features = [c for c in comparison.columns_compared if c.startswith("%")]
        assert len(features) >= 20, features
        assert comparison.n_differences_before_end == 0
        assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert set(report.false_indicators) <= ALLOWED_AT_CUT_END


def test_recursive_analysis_finds_no_startup_dependence_in_the_pooled_strategy(
    reports: dict[str, LeakageReport],
) -> None:
    report = reports["recursive"]
    (comparison,) = report.comparisons
    features = [c for c in comparison.columns_compared if c.startswith("%")]
    assert len(features) >= 20, features
    assert comparison.n_differences_before_end == 0
    assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert set(report.flagged_lookahead) <= ALLOWED_AT_CUT_END
    changes = [v for values in report.recursive_variance.values() for v in values.values()]
    assert all(v is not None and abs(v) < 1e-9 for v in changes), report.recursive_variance
