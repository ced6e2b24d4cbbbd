"""The 4h design never looks ahead: Freqtrade's lookahead-analysis and recursive-analysis on
``-c config.json -c config/timeframe-4h.json`` (the recorders of tests/leakage/_support.py).

The strategy code is the 1h design's, which tests/leakage covers in depth (future perturbation,
planted-leak controls); what 4h changes is the merge of 4h/1d informative candles, the 12-candle
label purge and the startup. The edge gate is off (config/edge-gate-off.json) and entries are
permissive (TripleBarrierMLLeakCheck), so the short range has trades to compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leakage._support import (
    ALLOWED_AT_CUT_END,
    DATA_DIR,
    PAIR,
    STRATEGY,
    STRATEGY_PATH,
    make_userdir,
    run_recorders,
    scratch_identifier,
)
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.leakage import LeakageReport, unexplained_differences

pytestmark = pytest.mark.freqtrade

# Six weeks of 4h candles (252): enough signals for the lookahead runs, after 90 training days.
TIMERANGE = "20250601-20250713"
MIN_TRADES = 3


def _args(userdir: Path) -> list[str]:
    return [
        "-c", "config.json", "-c", "config/timeframe-4h.json", "-c", "config/edge-gate-off.json",
        "--strategy", STRATEGY, "--strategy-path", STRATEGY_PATH,
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(DATA_DIR), "--timerange", TIMERANGE, "--pairs", PAIR,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LeakageReport]:
    base = tmp_path_factory.mktemp("recorded-4h")
    identifier = scratch_identifier("4h")
    jobs = {
        "lookahead": ("lookahead-analysis", [
            "--minimum-trade-amount", str(MIN_TRADES), "--targeted-trade-amount", "4",
        ]),
        "recursive": ("recursive-analysis", ["--startup-candle", "150"]),
    }  # fmt: skip
    userdirs = {name: make_userdir(base / name) for name in jobs}
    result = run_recorders(
        [
            {
                "command": command,
                "args": [*_args(userdirs[name]), *extra],
                "report": str(base / f"{name}.json"),
            }
            for name, (command, extra) in jobs.items()
        ],
        identifier,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for userdir in userdirs.values():
        assert (userdir / "models" / identifier).is_dir(), output[-2000:]
    return {name: LeakageReport.from_json((base / f"{name}.json").read_text()) for name in jobs}


def test_lookahead_analysis_finds_no_biased_signal_at_4h(
    reports: dict[str, LeakageReport],
) -> None:
    report = reports["lookahead"]
    assert report.total_signals is not None and report.total_signals >= MIN_TRADES
    assert report.false_entry_signals == 0 and report.false_exit_signals == 0
    assert len(report.comparisons) == 2 * report.total_signals
    for comparison in report.comparisons:
        features = [c for c in comparison.columns_compared if c.startswith("%")]
        # 4h and 1d features of the pair and the correlated pairs were compared.
        assert any(c.endswith("_4h") for c in features) and any(c.endswith("_1d") for c in features)
        assert comparison.n_differences_before_end == 0
        assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert set(report.false_indicators) <= ALLOWED_AT_CUT_END


def test_recursive_analysis_finds_no_startup_dependence_at_4h(
    reports: dict[str, LeakageReport],
) -> None:
    report = reports["recursive"]
    (comparison,) = report.comparisons
    assert comparison.n_differences_before_end == 0
    assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert set(report.flagged_lookahead) <= ALLOWED_AT_CUT_END
    # The strategy's own start-up (200 candles) gives every indicator its full-run value
    # (Freqtrade lists an indicator under a start-up only where its value differed).
    own = {name: values.get("200", 0.0) for name, values in report.recursive_variance.items()}
    assert all(v is not None and abs(v) < 1e-9 for v in own.values()), own
    # Control: 150 candles are too few for the 1d features, and the check says so.
    short = {name: values.get("150", 0.0) for name, values in report.recursive_variance.items()}
    assert any(v is None or abs(v) >= 1e-9 for n, v in short.items() if n.endswith("_1d")), short
