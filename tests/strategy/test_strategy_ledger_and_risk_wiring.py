"""The real TripleBarrierML, loaded by Freqtrade's resolver in dry-run mode: bot_start validates
the risk limits and starts the ledger mirror; a closed trade's exit fill reaches the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.foundation.ftrun import REPO_ROOT
from tests.ledger.ft_trades import make_trade, open_trades_db


def _strategy(tmp_path: Path, **tribar: Any) -> Any:
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    config = Configuration.from_files([str(REPO_ROOT / "config.json")])
    config["runmode"] = RunMode.DRY_RUN
    # Freqtrade's trade command sets db_url; the durable risk state lives in that database.
    config["db_url"] = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    config["strategy_path"] = str(REPO_ROOT / "strategies")
    config["tribar"].update(
        {"ledger_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
         "ledger_outbox": str(tmp_path / "outbox.sqlite"),
         "risk_limits_file": str(REPO_ROOT / "config" / "risk_limits.json"), **tribar}
    )  # fmt: skip
    return StrategyResolver.load_strategy(config)


def test_exit_fill_is_mirrored_to_the_ledger(tmp_path: Path) -> None:
    open_trades_db(tmp_path / "trades.sqlite")
    strategy = _strategy(tmp_path)
    strategy.bot_start()
    assert strategy._ledger is not None, "dry-run must mirror trades"
    trade = make_trade(exit_reason="roi", custom={"tribar_p_tp": 0.62, "tribar_atr": 850.0})
    exit_order = trade.orders[-1]
    strategy.order_filled(
        pair=trade.pair, trade=trade, order=exit_order, current_time=trade.close_date
    )
    assert strategy._ledger.flush(timeout=20)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM trades")).mappings().one()
    assert row["symbol"] == "BTC/USDT" and row["exit_reason"] == "take_profit"
    assert row["model_confidence"] == pytest.approx(0.62)
    assert row["strategy_version"] == strategy.version()
    assert row["dry_run"] in (1, True)
    strategy._ledger.close()
    engine.dispose()


def test_open_trade_fill_is_not_mirrored(tmp_path: Path) -> None:
    open_trades_db(tmp_path / "trades.sqlite")
    strategy = _strategy(tmp_path)
    strategy.bot_start()
    trade = make_trade(close_rate=None)
    assert strategy._ledger.record_trade(trade) is False
    strategy._ledger.close()


def test_bad_risk_limit_stops_the_bot_at_start_naming_the_key(tmp_path: Path) -> None:
    from freqtrade.exceptions import OperationalException

    bad = tmp_path / "limits.json"
    bad.write_text(json.dumps({"max_drawdown_pct": -5}))
    strategy = _strategy(tmp_path, risk_limits_file=str(bad))
    with pytest.raises(OperationalException, match="max_drawdown_pct"):
        strategy.bot_start()


def _stake(strategy: Any, pair: str, when: Any) -> float:
    return float(strategy.custom_stake_amount(
        pair=pair, current_time=when, current_rate=100.0, proposed_stake=50.0, min_stake=5.0,
        max_stake=900.0, leverage=1.0, entry_tag="tb_entry", side="long",
    ))  # fmt: skip


def test_blacklist_and_daily_loss_hold_without_freqtrades_blacklist_or_locks(
    tmp_path: Path,
) -> None:
    """decide is the one enforcement: tribar puts nothing into Freqtrade's pair_blacklist or
    PairLocks, so /delete_blacklist or deleting a lock cannot lift a limit; the refusals reach
    the ledger's entry_decisions table (once per signal candle)."""
    from datetime import UTC, datetime, timedelta

    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.persistence import PairLocks

    open_trades_db(tmp_path / "trades.sqlite")
    strategy = _strategy(tmp_path, risk_limits={"blacklist_symbols": ["DOGE/.*"]})
    strategy.dp = DataProvider(strategy.config, None)
    strategy.bot_start()
    assert "DOGE/.*" not in strategy.config["exchange"].get("pair_blacklist", [])
    # What /delete_blacklist does to Freqtrade's list; the pair is still refused.
    strategy.config["exchange"]["pair_blacklist"] = []
    now = datetime(2025, 7, 1, 12, tzinfo=UTC)
    for loop in range(3):
        assert _stake(strategy, "DOGE/USDT", now + timedelta(seconds=5 * loop)) == 0.0
    assert strategy._entry_decisions["DOGE/USDT"].code == "blacklist_symbols"
    # The daily-loss halt (what bot_loop_start calls): no Freqtrade lock to delete, and every
    # pair is refused until 00:00 UTC.
    assert strategy.risk.daily_loss_lock_until(-80.0, now) is not None
    assert not PairLocks.get_pair_locks(None, now)
    assert _stake(strategy, "BTC/USDT", now + timedelta(minutes=1)) == 0.0
    refused = strategy._entry_decisions["BTC/USDT"]
    assert refused.code == "circuit_breaker" and "max_daily_loss_usd" in refused.reason
    assert strategy._ledger.flush(timeout=20)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT symbol, code, allowed, bot_name FROM entry_decisions ORDER BY decided_at"
        )).all()  # fmt: skip
    engine.dispose()
    strategy._ledger.close()
    assert [(r.symbol, r.code) for r in rows] == [
        ("DOGE/USDT", "blacklist_symbols"), ("BTC/USDT", "circuit_breaker"),
    ]  # fmt: skip
    assert not any(r.allowed for r in rows)


def test_breaker_trip_and_clear_reach_freqtrade_messages(tmp_path: Path) -> None:
    """Halts are announced through dp.send_msg, the queue Freqtrade's RPC (Telegram) drains."""
    from datetime import UTC, datetime, timedelta

    from freqtrade.data.dataprovider import DataProvider

    strategy = _strategy(tmp_path, ledger_enabled=False)
    strategy.dp = DataProvider(strategy.config, None)
    strategy.bot_start()
    now = datetime(2025, 7, 1, 12, tzinfo=UTC)
    strategy.risk.update_equity(1000.0, now)
    until = strategy.risk.daily_loss_lock_until(-80.0, now)
    assert until is not None
    tripped = [m for m in strategy.dp._msg_queue if "HALTED" in m]
    assert tripped and "max_daily_loss_usd" in tripped[0]
    strategy.dp._msg_queue.clear()
    strategy.risk.breaker.refresh(until + timedelta(seconds=1))
    assert any("ACTIVE again" in m for m in strategy.dp._msg_queue)
