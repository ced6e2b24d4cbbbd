"""TripleBarrierMLMeta never looks ahead: the leakage checks of tests/leakage on the meta design.

* Future perturbation (tests/leakage/test_future_perturbation.py's harness, reused): random
  OHLCV on every candle of every pair and timeframe (BTC's daily regime candles included) that
  has not closed when ``t`` closes leaves FreqAI's features (with the two primary-strength
  features), the meta labels up to ``t - H``, the primary, the strategy's indicators and its
  entries unchanged on rows ``<= t``.
* Freqtrade's own lookahead-analysis and recursive-analysis (tests/leakage/_support.py's
  recorders) on a permissive subclass: no biased signal, no difference before the cut's last
  candle, and on it only FreqAI's zero fill and what derives from it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.designs.test_meta_labels import set_params
from tests.leakage._support import (
    ALLOWED_AT_CUT_END,
    DATA_DIR,
    LABEL,
    PAIR,
    REPO_ROOT,
    TIMERANGE,
    make_userdir,
    run_recorders,
    scratch_identifier,
)
from tests.leakage.test_future_perturbation import (
    FIRST_T,
    HORIZON,
    LAST_T,
    _CausalPredictions,
    _Dataprovider,
    assert_same_through,
    close_time,
    freqai_frame,
    market,
    perturb_future,
)
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.leakage import LeakageReport, differing_cells, unexplained_differences
from tribar.strategies.TripleBarrierMLMeta import KEY_PRIMARY, TripleBarrierMLMeta

EXAMPLES = settings(max_examples=3, deadline=None, derandomize=True, database=None)
PRIMARY_FEATURES = ("%-tsmom_return", "%-donchian_distance")
LEAK_CHECK = "TripleBarrierMLMetaLeakCheck"
DONCHIAN_LEAK_CHECK = "TripleBarrierMLMetaDonchianLeakCheck"
STRATEGY_PATH = "tests/designs/strategies"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = tmp_path_factory.mktemp("user_data")
    cfg["freqai"]["identifier"] = f"tribar-leaktest-meta-{uuid.uuid4().hex[:8]}"
    limits = cfg.get("tribar", {}).get("risk_limits_file")
    if limits:
        cfg["tribar"]["risk_limits_file"] = str(REPO_ROOT / limits)
    return cfg


def meta(config: dict[str, Any], data: Any, kind: str) -> TripleBarrierMLMeta:
    strategy = TripleBarrierMLMeta(config)
    set_params(strategy, primary_signal=kind)
    # The regime of set_freqai_targets and populate_indicators comes from the (perturbed) data.
    strategy.dp = _Dataprovider(data)
    return strategy


@EXAMPLES
@given(
    t=st.integers(FIRST_T, LAST_T),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["tsmom", "donchian"]),
)
def test_future_candles_never_change_past_features_or_meta_labels(
    config: dict[str, Any], t: int, seed: int, kind: str
) -> None:
    data, future = market(), perturb_future(market(), close_time(t), seed, 0.4)
    before = freqai_frame(meta(config, data, kind), config, data)
    after = freqai_frame(meta(config, future, kind), config, future)
    features = [c for c in before.columns if c.startswith("%")]
    assert set(PRIMARY_FEATURES) <= set(features) and len(features) > 100
    cols = ["date", "open", "high", "low", "close", "volume", *features]
    assert_same_through(before[cols], after[cols], t)
    # Labels look H candles ahead; the primary deciding which rows are labelled looks back only.
    labelled = before[LABEL].iloc[: t - HORIZON + 1]
    assert labelled.notna().any() and labelled.isna().any()  # bets and non-bets
    assert_same_through(before[["date", LABEL]], after[["date", LABEL]], t - HORIZON)
    # Which rows are bets (labelled) is decided by candles <= t, up to t itself.
    pd.testing.assert_series_equal(bets_through(before, t), bets_through(after, t))
    # Not vacuous: the primary features move after t.
    changed = differing_cells(before[cols].iloc[t + 1 :], after[cols].iloc[t + 1 :])
    assert set(PRIMARY_FEATURES) <= set(changed["column"])


def analysed(config: dict[str, Any], data: Any, kind: str, meta_label: bool) -> pd.DataFrame:
    strategy = meta(config, data, kind)
    set_params(strategy, use_meta_label=meta_label)
    strategy.freqai = _CausalPredictions()
    df = strategy.populate_indicators(data[(PAIR, "1h")].copy(), {"pair": PAIR})
    return strategy.populate_entry_trend(df, {"pair": PAIR})


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(
    t=st.integers(FIRST_T, LAST_T),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["tsmom", "donchian"]),
    meta_label=st.booleans(),
)
def test_future_candles_never_change_past_primary_or_entries(
    config: dict[str, Any], t: int, seed: int, kind: str, meta_label: bool
) -> None:
    before = analysed(config, market(), kind, meta_label)
    after = analysed(config, perturb_future(market(), close_time(t), seed, 0.4), kind, meta_label)
    assert before[KEY_PRIMARY].any() and before["enter_long"].eq(1).any()
    assert_same_through(before, after, t)
    assert not differing_cells(before.iloc[t + 1 :], after.iloc[t + 1 :]).empty


# --- Freqtrade's lookahead-analysis and recursive-analysis --------------------------------


def _args(userdir: Path, strategy: str = LEAK_CHECK) -> list[str]:
    return [
        "-c", "config.json",
        "--strategy", strategy, "--strategy-path", STRATEGY_PATH,
        "--userdir", str(userdir), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(DATA_DIR), "--timerange", TIMERANGE, "--pairs", PAIR,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LeakageReport]:
    base = tmp_path_factory.mktemp("meta-recorded")
    identifier = scratch_identifier("meta")
    jobs = {
        "lookahead": ("lookahead-analysis", LEAK_CHECK, [
            "--minimum-trade-amount", "3", "--targeted-trade-amount", "4",
        ]),
        # At least the strategy's own startup (the 720-candle momentum look-back).
        "recursive": ("recursive-analysis", LEAK_CHECK, ["--startup-candle", "800"]),
        "recursive-donchian": ("recursive-analysis", DONCHIAN_LEAK_CHECK, [
            "--startup-candle", "800",
        ]),
    }  # fmt: skip
    userdirs = {name: make_userdir(base / name) for name in jobs}
    result = run_recorders(
        [
            {
                "command": command,
                "args": [*_args(userdirs[name], strategy), *extra],
                "report": str(base / f"{name}.json"),
            }
            for name, (command, strategy, extra) in jobs.items()
        ],
        identifier,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for userdir in userdirs.values():
        assert (userdir / "models" / identifier).is_dir(), output[-2000:]
    return {name: LeakageReport.from_json((base / f"{name}.json").read_text()) for name in jobs}


@pytest.mark.freqtrade
def test_freqtrade_lookahead_analysis_finds_no_bias_in_the_meta_strategy(
    reports: dict[str, LeakageReport],
) -> None:
    report = reports["lookahead"]
    assert report.total_signals is not None and report.total_signals >= 3
    assert report.false_entry_signals == 0 and report.false_exit_signals == 0
    assert len(report.comparisons) == 2 * report.total_signals
    for comparison in report.comparisons:
        assert set(PRIMARY_FEATURES) <= set(comparison.columns_compared)
        assert KEY_PRIMARY in comparison.columns_compared
        assert comparison.n_differences_before_end == 0
        assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    # What Freqtrade flags is FreqAI's zero-filled last candle, nothing the primary computes.
    assert set(report.false_indicators) <= ALLOWED_AT_CUT_END


@pytest.mark.freqtrade
@pytest.mark.parametrize("job", ["recursive", "recursive-donchian"])
def test_freqtrade_recursive_analysis_finds_no_bias_in_the_meta_strategy(
    reports: dict[str, LeakageReport], job: str
) -> None:
    report = reports[job]
    (comparison,) = report.comparisons
    assert KEY_PRIMARY in comparison.columns_compared
    assert comparison.n_differences_before_end == 0
    assert not unexplained_differences(comparison, ALLOWED_AT_CUT_END)
    assert set(report.flagged_lookahead) <= ALLOWED_AT_CUT_END
    changes = [v for values in report.recursive_variance.values() for v in values.values()]
    assert all(v is not None and abs(v) < 1e-9 for v in changes), report.recursive_variance


class _PeekingPrimary(TripleBarrierMLMeta):
    """Control: a primary that knows whether the next close is higher."""

    def _primary(self, dataframe: pd.DataFrame) -> pd.Series:
        close = dataframe["close"]
        return (close.shift(-1) > close).fillna(False).astype(bool)


def bets_through(frame: pd.DataFrame, t: int) -> pd.Series:
    """Which rows <= t carry a label: the primary's bets (the parent labels every row there)."""
    return frame[LABEL].iloc[: t + 1].notna()


def test_control_a_peeking_primary_is_caught(config: dict[str, Any]) -> None:
    t = LAST_T
    changed = []
    for seed in range(4):
        frames = []
        for data in (market(), perturb_future(market(), close_time(t), seed, 0.4)):
            strategy = _PeekingPrimary(config)
            strategy.dp = _Dataprovider(data)
            frames.append(freqai_frame(strategy, config, data))
        changed.append(not bets_through(frames[0], t).equals(bets_through(frames[1], t)))
    assert any(changed)
