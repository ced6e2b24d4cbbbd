"""The run setup every evaluated strategy shares, and the Freqtrade configs built from it.

Everything starts from the repository's ``config.json`` so the evaluation runs what a user runs;
only what the setup fixes (pairs, data, range, fee, wallet, open-trade limit) and the FreqAI
schedule are overridden. Paths are made absolute so the configs work from any directory.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import freqtrade

from tribar.bundle_paths import FREQAIMODEL_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_CONFIG = REPO_ROOT / "config.json"
USER_DATA = REPO_ROOT / "user_data"
MODELS_DIR = USER_DATA / "models"
# The candles the repository ships (docs/data.md): the standard setup's 14 pairs, 1h/4h/1d.
BUNDLED_DATA = USER_DATA / "data" / "binance"
FREQTRADE_TEMPLATES = Path(freqtrade.__file__).resolve().parent / "templates"

STANDARD_PAIRS: tuple[str, ...] = (
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "ADA/USDT", "DOGE/USDT",
    "LINK/USDT", "LTC/USDT", "AVAX/USDT", "BCH/USDT", "TRX/USDT", "UNI/USDT", "NEAR/USDT",
)  # fmt: skip


@dataclass(frozen=True)
class Schedule:
    """FreqAI walk-forward schedule: train on ``train_days`` before each test window of
    ``retrain_days``, then slide."""

    train_days: int
    retrain_days: int

    def describe(self) -> str:
        return f"train {self.train_days} d, retrain every {self.retrain_days} d"


@dataclass(frozen=True)
class RunSetup:
    name: str
    pairs: tuple[str, ...]
    datadir: Path
    timerange: str  # Freqtrade's YYYYMMDD-YYYYMMDD; the end date is exclusive
    fee: float = 0.001
    wallet: float = 1000.0
    max_open_trades: int = 5
    timeframe: str = "1h"
    # Schedule of the FreqaiExampleStrategy baseline (the issue's), and the strategy's speed
    # comparison run on the same schedule.
    baseline_schedule: Schedule = Schedule(train_days=60, retrain_days=14)

    @property
    def start(self) -> datetime:
        return datetime.strptime(self.timerange.split("-")[0], "%Y%m%d").replace(tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.strptime(self.timerange.split("-")[1], "%Y%m%d").replace(tzinfo=UTC)

    def with_datadir(self, datadir: Path) -> RunSetup:
        return RunSetup(
            self.name, self.pairs, datadir, self.timerange, self.fee, self.wallet,
            self.max_open_trades, self.timeframe, self.baseline_schedule,
        )  # fmt: skip


STANDARD = RunSetup("standard", STANDARD_PAIRS, BUNDLED_DATA, "20250101-20251001")
# Small enough for an end-to-end test (< 3 min): 3 bundled pairs, 60 days = 2 windows of 30.
QUICK = RunSetup(
    "quick",
    ("BTC/USDT", "ETH/USDT", "SOL/USDT"),
    BUNDLED_DATA,
    "20250701-20250830",
    baseline_schedule=Schedule(train_days=30, retrain_days=30),
)


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied recursively (dicts merge, everything else replaces)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def base_config(setup: RunSetup) -> dict[str, Any]:
    """``config.json`` with the setup applied; FreqAI left as configured."""
    config: dict[str, Any] = json.loads(BASE_CONFIG.read_text())
    config.pop("$schema", None)
    overrides: dict[str, Any] = {
        "user_data_dir": str(USER_DATA),
        # Freqtrade 2026.9 ignores a config ``datadir``; the runner passes ``--datadir`` too.
        "datadir": str(setup.datadir),
        "strategy_path": str(REPO_ROOT / config["strategy_path"]),
        "freqaimodel_path": str(FREQAIMODEL_DIR),
        "timeframe": setup.timeframe,
        "fee": setup.fee,
        "dry_run_wallet": setup.wallet,
        "max_open_trades": setup.max_open_trades,
        "exchange": {"pair_whitelist": list(setup.pairs), "pair_blacklist": []},
        "pairlists": [{"method": "StaticPairList"}],
    }
    # tribar's own file settings (markets snapshot, risk limits) are relative to the repository.
    tribar_files = {
        key: str(REPO_ROOT / value)
        for key, value in (config.get("tribar") or {}).items()
        if key.endswith("_file") and isinstance(value, str)
    }
    if tribar_files:
        overrides["tribar"] = tribar_files
    return deep_merge(config, overrides)


def strategy_config(
    setup: RunSetup, identifier: str, freqai_overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The repository's strategy and FreqAI model with one variant's FreqAI settings."""
    config = base_config(setup)
    config["freqai"] = deep_merge(config["freqai"], {**freqai_overrides, "identifier": identifier})
    return config


def sample_strategy_config(setup: RunSetup) -> dict[str, Any]:
    """Freqtrade's ``SampleStrategy`` (no ML) on the same setup."""
    config = base_config(setup)
    config.update(strategy="SampleStrategy", strategy_path=str(FREQTRADE_TEMPLATES))
    # Freqtrade's schema still wants the FreqAI block's required keys when it is disabled.
    config["freqai"]["enabled"] = False
    return config


def freqai_example_config(setup: RunSetup, identifier: str) -> dict[str, Any]:
    """Freqtrade's ``FreqaiExampleStrategy`` + ``LightGBMRegressor`` on the same setup.

    FreqAI settings follow Freqtrade's ``config_examples/config_freqai.example.json`` except what
    the issue fixes: the schedule, 1h+4h features, BTC/ETH as correlated pairs, and one LightGBM
    thread (default threading was 7-40x slower on the shared 2-core machine).
    """
    schedule = setup.baseline_schedule
    config = base_config(setup)
    config.update(
        strategy="FreqaiExampleStrategy",
        strategy_path=str(FREQTRADE_TEMPLATES),
        freqaimodel="LightGBMRegressor",
    )
    config["freqai"] = {
        "enabled": True,
        "identifier": identifier,
        "purge_old_models": 2,
        "train_period_days": schedule.train_days,
        "backtest_period_days": schedule.retrain_days,
        "live_retrain_hours": 0,
        "save_backtest_models": True,
        "data_kitchen_thread_count": 2,
        "feature_parameters": {
            "include_timeframes": ["1h", "4h"],
            "include_corr_pairlist": ["BTC/USDT", "ETH/USDT"],
            "label_period_candles": 20,
            "include_shifted_candles": 2,
            "DI_threshold": 0.9,
            "weight_factor": 0.9,
            "principal_component_analysis": False,
            "use_SVM_to_remove_outliers": True,
            "indicator_periods_candles": [10, 20],
            "plot_feature_importances": 0,
        },
        "data_split_parameters": {"test_size": 0.33, "random_state": 1},
        "model_training_parameters": {"n_jobs": 1, "verbose": -1},
    }
    return config


def write_config(config: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2, sort_keys=True))
    return path
