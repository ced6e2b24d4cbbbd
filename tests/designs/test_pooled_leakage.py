"""TripleBarrierMLPooled never looks ahead.

* Through FreqAI's own feature population: random OHLCV on every candle of every pair (the
  cross-section's and BTC/ETH's) that has not closed when ``t`` closes leaves every feature of
  the pair's rows ``<= t`` unchanged (the harness of tests/leakage/test_future_perturbation.py,
  on three pairs of bundled candles); a control reading the other pairs' next candle is caught.
* Through the whole pooled backtest: cutting the data a day after the window's end leaves every
  pair's predictions unchanged (the check Freqtrade's lookahead-analysis cannot make here: it
  re-runs on the signal's pair alone, which changes a pooled model's cross-section by design).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.foundation.ftrun import run_tribar
from tests.leakage._support import DATA_DIR, REPO_ROOT
from tests.leakage.test_future_perturbation import (
    FIRST_T,
    LAST_T,
    N_1H,
    TIMEFRAMES,
    Market,
    _candles,
    _Dataprovider,
    assert_same_through,
    close_time,
    perturb_future,
)
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.leakage import differing_cells
from tribar.strategies.TripleBarrierMLPooled import TripleBarrierMLPooled

TARGET = "SOL/USDT"
POOL = ("SOL/USDT", "BTC/USDT", "ETH/USDT")


def pooled_market() -> Market:
    return {
        (pair, tf): (_candles(pair, tf).iloc[-N_1H:] if tf == "1h" else _candles(pair, tf))
        .reset_index(drop=True)
        .copy()
        for pair in POOL
        for tf in TIMEFRAMES
    }


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cfg: dict[str, Any] = load_from_files([str(REPO_ROOT / "config.json")])
    cfg["user_data_dir"] = Path(tmp_path_factory.mktemp("user_data"))
    cfg["freqai"]["identifier"] = f"tribar-leaktest-pooled-{uuid.uuid4().hex[:8]}"
    cfg["exchange"]["pair_whitelist"] = list(POOL)
    return cfg


def freqai_frame(
    config: dict[str, Any], data: Market, cls: type[TripleBarrierMLPooled] = TripleBarrierMLPooled
) -> pd.DataFrame:
    strategy = cls(config)
    # The cross-section and the BTC/ETH context come from the (perturbed) data provider.
    strategy.dp = _Dataprovider(data)  # type: ignore[assignment]
    dk = FreqaiDataKitchen(config, live=True, pair=TARGET)
    corr = config["freqai"]["feature_parameters"]["include_corr_pairlist"]
    return dk.use_strategy_to_populate_indicators(
        strategy,
        corr_dataframes={p: {tf: data[(p, tf)] for tf in TIMEFRAMES} for p in corr},
        base_dataframes={tf: data[(TARGET, tf)] for tf in TIMEFRAMES},
        pair=TARGET,
    )


@pytest.fixture(scope="module")
def baseline(config: dict[str, Any]) -> pd.DataFrame:
    return freqai_frame(config, pooled_market())


@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(
    t=st.integers(FIRST_T, LAST_T),
    seed=st.integers(0, 2**32 - 1),
    scale=st.floats(0.05, 0.8),
)
def test_future_candles_of_any_pair_never_change_past_pooled_features(
    config: dict[str, Any], baseline: pd.DataFrame, t: int, seed: int, scale: float
) -> None:
    perturbed = freqai_frame(config, perturb_future(pooled_market(), close_time(t), seed, scale))
    features = [c for c in baseline.columns if c.startswith("%")]
    assert any(c.startswith("%-xs_rank_") for c in features)
    assert any(c.startswith("%-btc_") for c in features)
    # No pair name in any column: the same names on every pair's rows.
    assert not [c for c in features if "/" in c]
    cols = ["date", "open", "high", "low", "close", "volume", *features]
    assert_same_through(baseline[cols], perturbed[cols], t)
    # Not vacuous: the cross-sectional and context features do move after t.
    changed = set(differing_cells(baseline[cols].iloc[t + 1 :], perturbed[cols].iloc[t + 1 :])
                  ["column"])  # fmt: skip
    assert {"%-xs_rank_natr", "%-btc_ret_atr_24", "%-eth_natr_z"} <= changed


class _NextCandleOfOthers(TripleBarrierMLPooled):
    """Control: the other pairs' candle one step ahead, as a misaligned merge would read it."""

    def _history(self, pair: str) -> pd.DataFrame | None:
        frame = super()._history(pair)
        if frame is None:
            return None
        shifted = frame.copy()
        shifted[["open", "high", "low", "close", "volume"]] = shifted[
            ["open", "high", "low", "close", "volume"]
        ].shift(-1)
        return shifted


def test_control_reading_the_next_candle_of_another_pair_is_caught(
    config: dict[str, Any],
) -> None:
    t = FIRST_T + 100
    future = perturb_future(pooled_market(), close_time(t), 7, 0.3)

    before = freqai_frame(config, pooled_market(), _NextCandleOfOthers)
    after = freqai_frame(config, future, _NextCandleOfOthers)
    cols = ["date", *(c for c in before.columns if c.startswith("%-xs_"))]
    changed = differing_cells(before[cols].iloc[: t + 1], after[cols].iloc[: t + 1])
    assert not changed.empty


def _backtest_predictions(tmp_path: Path, name: str, timerange: str) -> dict[str, pd.DataFrame]:
    """FreqAI's saved backtest predictions per pair of a pooled backtest, edge gate off (its
    constant fallback would make the comparison vacuous)."""
    userdir = tmp_path / name
    userdir.mkdir()
    layer = tmp_path / "no-gate.json"
    layer.write_text(json.dumps({"freqai": {"tribar": {"edge_gate_z": None}}}))
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(layer),
        "--strategy", "TripleBarrierMLPooled", "--freqaimodel", "TripleBarrierLGBMPooled",
        "--freqaimodel-path", str(FREQAIMODEL_DIR), "--datadir", str(DATA_DIR),
        "-p", *POOL, "--timerange", timerange, "--cache", "none",
        "--backtest-directory", str(userdir),
        env={"FREQTRADE__FREQAI__IDENTIFIER": "tribar-test-pooled-truncation",
             "FREQTRADE__USER_DATA_DIR": str(userdir)},
        timeout=400,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    folder = userdir / "models" / "tribar-test-pooled-truncation" / "backtesting_predictions"
    return {
        pair: pd.read_feather(next(folder.glob(f"cb_{pair.split('/')[0].lower()}_*")))
        for pair in POOL
    }


@pytest.mark.freqtrade
def test_cutting_the_data_after_a_day_leaves_every_pairs_predictions_unchanged(
    tmp_path: Path,
) -> None:
    """Freqtrade's lookahead-analysis re-runs a backtest on the signal's pair alone, which
    changes a pooled model's cross-section by design; this is its check with the whitelist
    kept: the same window trained with two weeks or one day of candles after its end."""
    long = _backtest_predictions(tmp_path, "long", "20250701-20250715")
    short = _backtest_predictions(tmp_path, "short", "20250701-20250702")
    for pair in POOL:
        rows = len(short[pair])
        assert rows == 24 and len(long[pair]) > 10 * rows
        head = long[pair].iloc[:rows].reset_index(drop=True)
        pd.testing.assert_series_equal(head["date"], short[pair]["date"])
        assert head["tp"].nunique() > 5  # the booster's own probabilities, not a constant
        np.testing.assert_allclose(head["tp"], short[pair]["tp"], rtol=0, atol=1e-12)
