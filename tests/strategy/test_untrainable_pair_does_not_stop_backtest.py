"""A pair whose window cannot be trained (here: its 4h candles are missing, so every feature row
has a NaN) stays flat with a warning; the backtest of the other pairs goes on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.foundation.ftrun import REPO_ROOT, run_tribar
from tribar.bundle_paths import FREQAIMODEL_DIR

pytestmark = pytest.mark.freqtrade


def test_pair_without_4h_data_is_skipped_not_fatal(tmp_path: Path) -> None:
    bundled = REPO_ROOT / "user_data" / "data" / "binance"
    datadir = tmp_path / "binance"
    datadir.mkdir()
    (tmp_path / "ud").mkdir()
    for f in bundled.glob("*.feather"):
        if not f.name.startswith("SOL_USDT-4h"):
            shutil.copy(f, datadir / f.name)
    result = run_tribar(
        "ft", "backtesting", "-c", "config.json", "--datadir", str(datadir),
        "-p", "SOL/USDT", "BTC/USDT", "--timerange", "20250701-20250705", "--cache", "none",
        "--backtest-directory", str(tmp_path), "--freqaimodel-path", str(FREQAIMODEL_DIR),
        env={"FREQTRADE__FREQAI__IDENTIFIER": "tribar-test-untrainable",
             "FREQTRADE__USER_DATA_DIR": str(tmp_path / "ud")},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "SOL/USDT: not trained, no entries until the next training" in output
    assert "BTC/USDT: triple-barrier training on" in output
    assert "STRATEGY SUMMARY" in output
