"""A real offline hyperopt of TripleBarrierML with tribar's loss and Freqtrade's default
parallel workers; every epoch's objective recomputed independently from the trades it stored."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.tuning.losses import TOO_FEW_TRADES, LossSettings, sharpe_drawdown_loss

pytestmark = pytest.mark.freqtrade

# The gate-off override trades on the calibrated probabilities (the gate keeps the shipped
# configuration flat, and then every epoch scores in the too-few band). min_trades 5 so that
# a two-week range can rank epochs.
MIN_TRADES = 5
FREQTRADE_NO_TRADES_LOSS = 100_000  # freqtrade.optimize.hyperopt.hyperopt_optimizer.MAX_LOSS


def test_hyperopt_with_tribars_loss_scores_every_epoch_as_the_loss_defines(tmp_path: Path) -> None:
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    result = run_tribar(
        "ft", "hyperopt", "-c", "config.json", "-c", "config/edge-gate-off.json",
        "--strategy", "TripleBarrierML", "--userdir", str(userdir),
        "--freqaimodel-path", str(FREQAIMODEL_DIR),
        "--datadir", str(REPO_ROOT / "user_data" / "data" / "binance"),
        "--hyperopt-loss", "TribarSharpeDrawdownLoss", "--spaces", "buy", "-e", "6",
        "--timerange", "20250801-20250815", "--disable-param-export",
        # Fixed seed: some random parameter draws trade in no epoch, which proves nothing here.
        "--random-state", "2",
        env={"FREQTRADE__TRIBAR__HYPEROPT_LOSS__MIN_TRADES": str(MIN_TRADES)},
        timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Could not pickle" not in output  # default parallel workers (-j -1)
    assert "Using resolved hyperoptloss TribarSharpeDrawdownLoss" in output
    [results_file] = (userdir / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line) for line in results_file.read_text().splitlines()]
    assert len(epochs) == 6
    settings = LossSettings(min_trades=MIN_TRADES)
    scored_with_trades = 0
    for epoch in epochs:
        metrics = epoch["results_metrics"]
        trades = pd.DataFrame(metrics["trades"])
        n = int(metrics["total_trades"])
        if n == 0:
            # Freqtrade scores an epoch without trades itself, without calling the loss.
            assert epoch["loss"] == FREQTRADE_NO_TRADES_LOSS and not epoch["is_best"]
            continue
        trades["close_date"] = pd.to_datetime(trades["close_date"], utc=True)
        expected = sharpe_drawdown_loss(
            trades, n,
            datetime.fromisoformat(metrics["backtest_start"]),
            datetime.fromisoformat(metrics["backtest_end"]),
            float(metrics["starting_balance"]), settings,
        )  # fmt: skip
        assert epoch["loss"] == pytest.approx(expected, rel=1e-9), (n, epoch["params_dict"])
        if n < MIN_TRADES:
            assert epoch["loss"] >= TOO_FEW_TRADES and not epoch["is_best"]
        else:
            scored_with_trades += 1
            assert epoch["loss"] < TOO_FEW_TRADES
    assert scored_with_trades, "no epoch reached min_trades; the test needs one that trades"
