"""TripleBarrierML's ``sizing`` and ``protection`` parameters, loaded by Freqtrade's own resolver
from a parameter file as a bot or hyperopt would: the strategy only translates them into the
EntryRequest and ProtectionSettings; without a file it behaves exactly as before."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.foundation.ftrun import REPO_ROOT
from tests.ledger.ft_trades import open_trades_db
from tribar.risk import ProtectionSettings, default_protections, protections_from_settings

NOW = datetime(2025, 8, 3, 12, 0, 5, tzinfo=UTC)

TUNED = {
    "sizing": {"sizing_kelly_multiplier": 0.4, "sizing_vol_scale_max_multiplier": 0.7},
    "protection": {
        "protection_cooldown_hours": 3, "protection_stoploss_guard_trade_limit": 2,
        "protection_stoploss_guard_stop_hours": 10, "protection_max_drawdown_allowed": 0.05,
        "protection_max_drawdown_stop_hours": 30, "protection_low_profit_trade_limit": 5,
        "protection_low_profit_stop_hours": 7,
    },
}  # fmt: skip


def _strategy(tmp_path: Path, params: dict[str, Any] | None) -> Any:
    """The shipped strategy from a folder of its own, with ``params`` as its parameter file."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode
    from freqtrade.resolvers import StrategyResolver

    folder = tmp_path / "strategies"
    folder.mkdir(exist_ok=True)
    shutil.copy2(REPO_ROOT / "strategies" / "TripleBarrierML.py", folder)
    if params is not None:
        (folder / "TripleBarrierML.json").write_text(
            json.dumps({"strategy_name": "TripleBarrierML", "params": params})
        )
    config = Configuration.from_files([str(REPO_ROOT / "config.json")])
    config["runmode"] = RunMode.DRY_RUN
    config["strategy_path"] = str(folder)
    config["tribar"]["risk_limits_file"] = str(REPO_ROOT / "config" / "risk_limits.json")
    strategy = StrategyResolver.load_strategy(config)
    strategy.ft_load_hyper_params()  # what ft_bot_start does first
    return strategy


def test_without_a_parameter_file_the_protections_and_sizing_are_the_shipped_ones(
    tmp_path: Path,
) -> None:
    strategy = _strategy(tmp_path, None)
    assert strategy.protections == default_protections()
    assert strategy.sizing_kelly_multiplier.value == 1.0
    assert strategy.sizing_vol_scale_max_multiplier.value == 1.0
    # Every protection parameter's default is the shipped setting it stands for.
    for name, value in vars(ProtectionSettings()).items():
        assert getattr(strategy, f"protection_{name}").value == value, name


def test_parameter_file_values_reach_protections_and_the_entry_request(tmp_path: Path) -> None:
    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.enums import CandleType
    from freqtrade.plugins.protectionmanager import ProtectionManager

    strategy = _strategy(tmp_path, TUNED)
    expected = protections_from_settings(
        ProtectionSettings(
            **{k.removeprefix("protection_"): v for k, v in TUNED["protection"].items()}
        )
    )
    assert strategy.protections == expected
    assert expected != default_protections()
    ProtectionManager({"timeframe": "1h"}, strategy.protections)  # Freqtrade accepts them

    # The Kelly request carries the knobs; RiskManager.decide applies them.
    open_trades_db(tmp_path / "trades.sqlite")
    candle = pd.DataFrame(
        {"date": [NOW.replace(minute=0, second=0) - timedelta(hours=1)], "close": [100.0],
         "tribar_p_tp": [0.6], "tribar_atr": [1.0], "tribar_atr_baseline": [1.0]}
    )  # fmt: skip
    dp = DataProvider(strategy.config, None)
    dp._set_cached_df("BTC/USDT", "1h", candle, CandleType.SPOT)
    strategy.dp = dp
    request = strategy._entry_request(
        "BTC/USDT", NOW, 100.0, 200.0, 5.0, 990.0, 1.0, "long"
    )  # fmt: skip
    assert request.sizing == "kelly"
    assert request.kelly_multiplier == 0.4 and request.vol_scale_max_multiplier == 0.7
    assert np.isclose(request.probability, 0.6)


@pytest.mark.parametrize(
    ("space", "name", "value", "message"),
    [
        ("sizing", "sizing_kelly_multiplier", 1.5, "sizing_kelly_multiplier=1.5"),
        ("protection", "protection_cooldown_hours", 0, "cooldown_hours=0"),
        ("protection", "protection_max_drawdown_allowed", 1.2, "max_drawdown_allowed=1.2"),
    ],
)
def test_a_hand_edited_value_outside_its_range_stops_the_bot_at_start(
    tmp_path: Path, space: str, name: str, value: float, message: str
) -> None:
    from freqtrade.exceptions import OperationalException

    strategy = _strategy(tmp_path, {space: {name: value}})
    with pytest.raises(OperationalException, match=message.replace(".", r"\.")):
        strategy._check_sizing_knobs()
        strategy.protections  # noqa: B018 - Freqtrade reads the property at start
