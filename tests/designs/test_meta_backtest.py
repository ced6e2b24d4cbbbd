"""One FreqAI backtest of the meta design and its primary alone on the same models: the primary
alone trades, and every trade of either opens on a primary bet (the meta model only removes
bets, it never adds one)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.data.btanalysis import load_backtest_data

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tests.leakage._support import scratch_identifier
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta

pytestmark = pytest.mark.freqtrade

DATA_DIR = REPO_ROOT / "user_data" / "data" / "binance"
PAIR = "BTC/USDT"
META, ALONE = "TripleBarrierMLMetaFixedStake", "TripleBarrierMLMetaPrimaryAlone"


def primary_bets() -> set[pd.Timestamp]:
    candles = pd.read_feather(DATA_DIR / "BTC_USDT-1h.feather")
    daily = pd.read_feather(DATA_DIR / "BTC_USDT-1d.feather")
    mask = TripleBarrierMLMeta.scoring_mask(candles, daily, {}, "1h")
    return {pd.Timestamp(d) for d in candles.loc[mask.to_numpy(), "date"]}


def test_meta_trades_are_a_subset_of_the_primarys_bets(tmp_path: Path) -> None:
    (tmp_path / "ud").mkdir()
    override = tmp_path / "override.json"
    # Without the edge gate the model's own probabilities judge every bet (with it closed, as on
    # most short windows, P is one constant and the model would take all bets or none).
    freqai = {"identifier": scratch_identifier("meta-bt"), "tribar": {"edge_gate_z": None}}
    override.write_text(json.dumps({"freqai": freqai}))
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "-c", str(override),
        "--strategy-list", META, ALONE, "--strategy-path", "tests/designs/strategies",
        "--datadir", str(DATA_DIR), "-p", PAIR, "--timerange", "20250701-20250731",
        "--cache", "none", "--backtest-directory", str(tmp_path),
        "--freqaimodel-path", str(FREQAIMODEL_DIR),
        env={"FREQTRADE__USER_DATA_DIR": str(tmp_path / "ud")},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    bets = primary_bets()
    signals = {}
    for strategy in (META, ALONE):
        trades = load_backtest_data(tmp_path, strategy=strategy)
        # A trade opens at the open of the candle after its signal candle.
        signals[strategy] = {pd.Timestamp(d) - pd.Timedelta(hours=1) for d in trades["open_date"]}
        assert signals[strategy] <= bets, strategy
    assert len(signals[ALONE]) >= 3
    assert signals[META], "the meta model took no bet: the subset check would be vacuous"
    # Each traded through its own entry rule.
    for strategy, tag in ((META, "meta_entry"), (ALONE, "primary_entry")):
        assert set(load_backtest_data(tmp_path, strategy=strategy)["enter_tag"]) == {tag}
    # The model refused some bets the primary alone took (not vacuous subset).
    assert signals[ALONE] - signals[META]
