"""Issue 15, slower horizons: the strategy on 4h candles (``config/timeframe-4h.json``).

What a user runs (``-c config.json -c config/timeframe-4h.json``) is what ``tribar evaluate``
runs as ``tf-4h``; a replayed ``freqtrade trade`` bot on that config trades 4h candles, trains
and retrains live with 12-candle labels and exits within the 12-candle vertical barrier.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freqtrade.configuration.load_config import load_from_files

from tribar.evaluate.setup import STANDARD
from tribar.evaluate.specs import strategy_spec
from tribar.evaluate.variants import by_name
from tribar.risk.limits import load_risk_limits
from tribar.strategies.TripleBarrierML import TripleBarrierML
from tribar.testing.replay_bot import REPO_ROOT, ReplayBot

CONFIGS = ("config.json", "config/timeframe-4h.json")
REPLAY_CONFIGS = ("config.json", "config.api.json", "config/timeframe-4h.json",
                  "tests/designs/replay-4h.json")  # fmt: skip
REPLAY = "20250601..20250622"
ARGS = (
    "--strategy", "TripleBarrierMLFixedStake", "--strategy-path", "tests/fixtures/strategies",
    "--step", "3600",
)  # fmt: skip
# About 2 min on 2 cores; the bound only keeps a hung replay from hanging CI.
REPLAY_TIMEOUT = 900
HORIZON = 12
CANDLE = timedelta(hours=4)


def _config(*files: str) -> dict[str, Any]:
    return load_from_files([str(REPO_ROOT / f) for f in files])


def test_the_overlay_makes_a_4h_strategy_with_day_scale_risk_windows() -> None:
    config = _config(*CONFIGS)
    strategy = TripleBarrierML(config)
    assert config["timeframe"] == "4h" and config["startup_candle_count"] == 200
    freqai = config["freqai"]
    assert freqai["identifier"] != _config("config.json")["freqai"]["identifier"]
    assert freqai["feature_parameters"]["include_timeframes"][0] == "4h"
    assert strategy.horizon == HORIZON and freqai["tribar"]["embargo_candles"] == HORIZON
    # The shipped edge gate is kept, not switched off by the overlay.
    assert freqai["tribar"]["edge_gate_z"] == 1.645
    assert freqai["tribar"]["edge_gate_rule"] == "consecutive"
    # 14 days of ATR baseline, as 336 candles are at 1h; the rest of the limits file stands.
    limits = load_risk_limits(config=config)
    assert limits.sizing.atr_baseline_window == 84
    hourly = load_risk_limits(config=_config("config.json"))
    assert limits.max_drawdown_pct == hourly.max_drawdown_pct


def test_the_evaluated_variants_run_exactly_that_overlay(tmp_path: Path) -> None:
    shipped = _config(*CONFIGS)
    for name in ("tf-4h", "tf-4h-no-gate", "tf-4h-baseline-schedule"):
        (variant,) = by_name([name])
        config = strategy_spec(STANDARD, variant, tmp_path).config
        assert config["timeframe"] == "4h" and config["startup_candle_count"] == 200, name
        fp = config["freqai"]["feature_parameters"]
        assert fp["label_period_candles"] == HORIZON, name
        assert fp["include_timeframes"] == ["4h", "1d"], name
        assert config["freqai"]["tribar"]["embargo_candles"] == HORIZON, name
        assert config["tribar"]["risk_limits"] == shipped["tribar"]["risk_limits"], name
        gate = config["freqai"]["tribar"]["edge_gate_z"]
        assert gate == (None if name.endswith("no-gate") else 1.645), name
    (hourly,) = by_name(["edge-gate"])
    (four_hour,) = by_name(["tf-4h"])
    assert (
        strategy_spec(STANDARD, hourly, tmp_path).identifier
        != strategy_spec(STANDARD, four_hour, tmp_path).identifier
    )


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayBot]:
    run_dir = Path(tmp_path_factory.mktemp("replay-4h")) / "run"
    bot = ReplayBot(REPLAY, run_dir, configs=REPLAY_CONFIGS, extra_args=ARGS).start()
    try:
        bot.wait_until_finished(REPLAY_TIMEOUT)
        yield bot
    finally:
        code = bot.stop()
        assert code == 0, f"replay bot exited with {code}: {bot.tail()}"


@pytest.mark.freqtrade
def test_a_replayed_bot_trades_4h_candles_and_retrains_on_12_candle_labels(
    replayed: ReplayBot,
) -> None:
    assert replayed.client().show_config()["timeframe"] == "4h"
    log = (replayed.run_dir / "freqtrade.log").read_text(errors="replace")
    trainings = re.findall(
        r"(\S+/USDT): triple-barrier training on \d+ rows.*\(purge (\d+) \+ embargo (\d+)", log
    )
    # Two pairs trained at the start and again after 7 simulated days (live retraining).
    assert len(trainings) >= 4, replayed.tail()
    assert {(purge, embargo) for _, purge, embargo in trainings} == {("12", "12")}
    assert {pair for pair, _, _ in trainings} == {"BTC/USDT", "ETH/USDT"}

    with sqlite3.connect(replayed.run_dir / "tradesv3.replay.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        trades = list(conn.execute("SELECT * FROM trades ORDER BY id"))
    closed = [t for t in trades if not t["is_open"]]
    assert len(closed) >= 3, replayed.tail()
    # The barrier stop is never reported as a trailing stop (it once was, from tick rounding).
    assert {t["exit_reason"] for t in closed} <= {"roi", "stop_loss", "timeout"}
    assert not any(t["is_stop_loss_trailing"] for t in trades)
    for trade in closed:
        opened = datetime.fromisoformat(trade["open_date"]).replace(tzinfo=UTC)
        shut = datetime.fromisoformat(trade["close_date"]).replace(tzinfo=UTC)
        # The vertical barrier counts 12 candles from the entry; the exit's limit order then
        # fills within the next candle.
        assert shut - opened <= HORIZON * CANDLE + CANDLE, (trade["open_date"], shut)
