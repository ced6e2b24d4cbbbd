"""TripleBarrierML's entry callbacks only translate the one risk decision: custom_stake_amount
decides, confirm_trade_entry reads that decision back (sizing and caps against real backtests:
tests/risk_backtest/test_kelly_sizing_in_backtest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.foundation.ftrun import REPO_ROOT
from tribar.risk import EntryDecision

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _strategy(tmp_path: Path) -> Any:
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    config = Configuration.from_files([str(REPO_ROOT / "config.json")])
    config["runmode"] = RunMode.DRY_RUN
    config["strategy_path"] = str(REPO_ROOT / "strategies")
    config["tribar"]["risk_limits_file"] = str(REPO_ROOT / "config" / "risk_limits.json")
    return StrategyResolver.load_strategy(config)


def _confirm(strategy: Any, when: datetime, pair: str = "BTC/USDT") -> bool:
    return bool(
        strategy.confirm_trade_entry(
            pair=pair, order_type="limit", amount=0.001, rate=50_000.0, time_in_force="GTC",
            current_time=when, entry_tag="tb_entry", side="long",
        )
    )  # fmt: skip


def test_confirm_reads_back_the_decision_of_custom_stake_amount(tmp_path: Path) -> None:
    strategy = _strategy(tmp_path)
    # Never an entry without a decision.
    assert not _confirm(strategy, NOW)
    allowed = EntryDecision(True, 50.0, "ok", "kelly", "BTC/USDT", NOW)
    strategy._entry_decisions = {"BTC/USDT": allowed}
    assert _confirm(strategy, NOW + timedelta(seconds=2))  # live: the next call, a moment later
    assert not _confirm(strategy, NOW + timedelta(minutes=5))  # an old decision is not this one
    assert not _confirm(strategy, NOW, pair="ETH/USDT")
    strategy._entry_decisions["BTC/USDT"] = EntryDecision(
        False, 0.0, "circuit_breaker", "risk halt", "BTC/USDT", NOW
    )
    assert not _confirm(strategy, NOW)


def test_unreadable_inputs_give_no_stake_never_freqtrades_proposal(tmp_path: Path) -> None:
    # No wallets and no data provider: reading the entry's inputs fails. Freqtrade would use
    # proposed_stake if the callback raised; the adapter answers 0 and records a refusal.
    strategy = _strategy(tmp_path)
    stake = strategy.custom_stake_amount(
        pair="BTC/USDT", current_time=NOW, current_rate=50_000.0, proposed_stake=200.0,
        min_stake=5.0, max_stake=990.0, leverage=1.0, entry_tag="tb_entry", side="long",
    )  # fmt: skip
    assert stake == 0.0
    assert not _confirm(strategy, NOW)
