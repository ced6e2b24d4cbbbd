"""What Freqtrade's hyperopt needs from TripleBarrierML: it pickles the strategy for its worker
processes, and with one job it reruns every epoch's backtest on the same object."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import cloudpickle
import pytest
from freqtrade.enums import RunMode

from tests.foundation.ftrun import REPO_ROOT

T0 = datetime(2025, 7, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _strategy(runmode: RunMode) -> Any:
    from freqtrade.configuration import Configuration
    from freqtrade.resolvers import StrategyResolver

    config = Configuration.from_files([str(REPO_ROOT / "config.json")])
    config["runmode"] = runmode
    config["strategy_path"] = str(REPO_ROOT / "strategies")
    config["tribar"]["risk_limits_file"] = str(REPO_ROOT / "config" / "risk_limits.json")
    strategy = StrategyResolver.load_strategy(config)
    strategy.dp = None  # no bot around it: breaker messages have nowhere to go
    return strategy


def test_the_strategy_with_its_risk_layer_pickles() -> None:
    strategy = _strategy(RunMode.HYPEROPT)
    strategy.risk.update_equity(1000.0, T0)
    strategy.risk.update_equity(800.0, T0 + HOUR)  # 20 % drawdown: halted
    assert strategy.risk.breaker.is_halted(T0 + HOUR)
    # Kept decisions carry their EntryRequest (read-only mappings inside).
    from tribar.risk import EntryRequest

    kept = strategy.risk.decide(EntryRequest("BTC/USDT", T0 + HOUR, open_exposure={"ETH/USDT": 5}))
    strategy._entry_decisions = {"BTC/USDT": kept}

    # As joblib's loky backend ships hyperopt's tasks: cloudpickle (Freqtrade loads strategies
    # from files, so their classes travel by value), plain pickle to load.
    copy = pickle.loads(cloudpickle.dumps(strategy))

    assert copy.risk.breaker.is_halted(T0 + HOUR)
    assert copy.risk.equity_peak == 1000.0
    assert copy._entry_decisions == {"BTC/USDT": kept}
    assert copy._entry_decisions["BTC/USDT"].request == kept.request
    # The copy's breaker still announces through the copy (its listener is the bound method).
    assert copy.risk.breaker._listeners == [copy._announce_breaker]


def _run(strategy: Any, start: datetime, hours: int) -> None:
    for h in range(hours):
        strategy._fresh_risk_for_each_backtest(start + h * HOUR)


@pytest.mark.parametrize("runmode", [RunMode.BACKTEST, RunMode.HYPEROPT])
def test_each_backtest_starts_with_a_fresh_risk_layer(runmode: RunMode) -> None:
    strategy = _strategy(runmode)
    _run(strategy, T0, 3)
    strategy.risk.update_equity(1000.0, T0 + 3 * HOUR)
    strategy.risk.update_equity(800.0, T0 + 4 * HOUR)
    assert strategy.risk.breaker.is_halted(T0 + 4 * HOUR)
    _run(strategy, T0 + 4 * HOUR, 5)  # the same backtest goes on: still halted
    assert strategy.risk.breaker.is_halted(T0 + 9 * HOUR)

    _run(strategy, T0, 1)  # the next epoch's backtest starts at the beginning again

    assert not strategy.risk.breaker.is_halted(T0)
    assert strategy.risk.equity_peak is None


def test_dry_run_never_lifts_a_halt_when_the_clock_goes_back() -> None:
    strategy = _strategy(RunMode.DRY_RUN)
    _run(strategy, T0, 3)
    strategy.risk.update_equity(1000.0, T0 + 3 * HOUR)
    strategy.risk.update_equity(800.0, T0 + 4 * HOUR)
    _run(strategy, T0, 1)  # e.g. the system clock stepped back
    assert strategy.risk.breaker.is_halted(T0 + 5 * HOUR)
    assert strategy.risk.equity_peak == 1000.0
