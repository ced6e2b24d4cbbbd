"""Issue 15, meta-labelling in a replayed ``freqtrade trade`` bot.

TripleBarrierMLMeta (tsmom primary) through ``tribar paper --replay``: FreqAI trains and
retrains live on the primary's bets only, and every trade opens on a candle where the primary
fired, as the evaluation's ``scoring_mask`` rebuilds it from the candle files.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tribar.strategies.TripleBarrierMLMeta import TripleBarrierMLMeta
from tribar.testing.replay_bot import REPO_ROOT, ReplayBot

pytestmark = pytest.mark.freqtrade

DATA = REPO_ROOT / "user_data" / "data" / "binance"
CONFIGS = ("config.json", "config.api.json", "tests/designs/replay-meta.json")
REPLAY = "20250601..20250615"
ARGS = (
    "--strategy", "TripleBarrierMLMetaPermissive", "--strategy-path", "tests/designs/strategies",
    "--step", "1800",
)  # fmt: skip
# About 3 min on 2 cores; the bound only keeps a hung replay from hanging CI.
REPLAY_TIMEOUT = 1200
TRAINING = re.compile(
    r"(\S+/USDT): triple-barrier training on (\d+) rows, validation (\d+), calibration (\d+)"
)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayBot]:
    run_dir = Path(tmp_path_factory.mktemp("replay-meta")) / "run"
    bot = ReplayBot(REPLAY, run_dir, configs=CONFIGS, extra_args=ARGS).start()
    try:
        bot.wait_until_finished(REPLAY_TIMEOUT)
        yield bot
    finally:
        code = bot.stop()
        assert code == 0, f"replay bot exited with {code}: {bot.tail()}"


def _bets(pair: str) -> pd.Series:
    """The primary's bets on the pair's bundled 1h candles, indexed by candle open."""
    candles = pd.read_feather(DATA / f"{pair.replace('/', '_')}-1h.feather")
    daily = pd.read_feather(DATA / "BTC_USDT-1d.feather")
    mask = TripleBarrierMLMeta.scoring_mask(candles, daily, {}, "1h")
    return pd.Series(mask.to_numpy(), index=pd.DatetimeIndex(candles["date"]))


def test_the_bot_trains_live_on_the_primarys_bets_only(replayed: ReplayBot) -> None:
    log = (replayed.run_dir / "freqtrade.log").read_text(errors="replace")
    trainings = TRAINING.findall(log)
    # Two pairs at the start and again after 7 simulated days.
    assert len(trainings) >= 4, replayed.tail()
    assert {t[0] for t in trainings} == {"BTC/USDT", "ETH/USDT"}
    window = 60 * 24
    for pair, *blocks in trainings:
        rows = sum(int(b) for b in blocks)
        # Far fewer rows than the window's candles: only bets carry labels.
        assert 200 <= rows < 0.9 * window, (pair, blocks)


def test_every_trade_opens_on_a_primary_bet(replayed: ReplayBot) -> None:
    with sqlite3.connect(replayed.run_dir / "tradesv3.replay.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        trades = list(conn.execute("SELECT * FROM trades ORDER BY id"))
    assert len(trades) >= 3, replayed.tail()
    assert {t["enter_tag"] for t in trades} == {"meta_entry"}
    bets = {pair: _bets(pair) for pair in {t["pair"] for t in trades}}
    for trade in trades:
        opened = datetime.fromisoformat(trade["open_date"]).replace(tzinfo=UTC)
        # The signal candle is the last one closed at the entry.
        signal = pd.Timestamp(opened).floor("1h") - timedelta(hours=1)
        assert bets[trade["pair"]].loc[signal], (trade["pair"], trade["open_date"])
    closed = [t for t in trades if not t["is_open"]]
    assert closed and {t["exit_reason"] for t in closed} <= {"roi", "stop_loss", "timeout"}
