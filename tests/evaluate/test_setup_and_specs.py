"""Configs of the standard setup, and the backtests an evaluation runs."""

from __future__ import annotations

import json
from pathlib import Path

from tribar.evaluate.setup import (
    FREQTRADE_TEMPLATES,
    QUICK,
    REPO_ROOT,
    STANDARD,
    deep_merge,
    freqai_example_config,
    sample_strategy_config,
    strategy_config,
)
from tribar.evaluate.specs import (
    EXAMPLE_SPOT,
    STRATEGY_FILE,
    calibrated_model_class,
    freqai_example_spec,
    sample_spec,
    strategy_spec,
)
from tribar.evaluate.variants import VARIANTS, Variant, by_name


def test_standard_setup_is_the_issue_setup() -> None:
    assert len(STANDARD.pairs) == 14 and len(set(STANDARD.pairs)) == 14
    # The bundled candles, inside the repository (docs/data.md).
    assert STANDARD.datadir == REPO_ROOT / "user_data" / "data" / "binance"
    assert STANDARD.datadir.is_relative_to(REPO_ROOT)
    assert (STANDARD.timerange, STANDARD.timeframe) == ("20250101-20251001", "1h")
    assert (STANDARD.fee, STANDARD.wallet, STANDARD.max_open_trades) == (0.001, 1000.0, 5)
    assert (STANDARD.baseline_schedule.train_days, STANDARD.baseline_schedule.retrain_days) == (
        60,
        14,
    )
    assert (STANDARD.end - STANDARD.start).days == 273


def test_deep_merge_replaces_leaves_and_keeps_siblings() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = deep_merge(base, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert base["a"]["c"] == [1, 2]  # the input is not modified


def test_strategy_config_applies_the_setup_to_config_json() -> None:
    shipped = json.loads((REPO_ROOT / "config.json").read_text())
    config = strategy_config(STANDARD, "tribar-eval-x", {"train_period_days": 60})
    assert config["exchange"]["pair_whitelist"] == list(STANDARD.pairs)
    assert config["fee"] == 0.001 and config["dry_run_wallet"] == 1000
    assert config["max_open_trades"] == 5
    assert config["datadir"] == str(STANDARD.datadir)
    assert config["freqai"]["identifier"] == "tribar-eval-x"
    assert config["freqai"]["train_period_days"] == 60
    # Everything else of the shipped FreqAI section is kept.
    assert config["freqai"]["feature_parameters"] == shipped["freqai"]["feature_parameters"]
    assert config["strategy"] == shipped["strategy"]
    for key in ("strategy_path", "freqaimodel_path", "user_data_dir"):
        assert Path(config[key]).is_absolute() and Path(config[key]).exists()
    files = {k: v for k, v in config["tribar"].items() if k.endswith("_file")}
    assert set(files) == {"markets_file", "risk_limits_file"}
    for value in files.values():
        assert Path(value).is_absolute() and Path(value).is_file()


def test_baseline_configs() -> None:
    sample = sample_strategy_config(STANDARD)
    assert sample["strategy"] == "SampleStrategy"
    assert sample["strategy_path"] == str(FREQTRADE_TEMPLATES)
    assert sample["freqai"]["enabled"] is False
    example = freqai_example_config(STANDARD, "tribar-eval-fx")
    freqai = example["freqai"]
    assert example["freqaimodel"] == "LightGBMRegressor"
    assert (freqai["train_period_days"], freqai["backtest_period_days"]) == (60, 14)
    assert freqai["feature_parameters"]["include_timeframes"] == ["1h", "4h"]
    assert freqai["feature_parameters"]["include_corr_pairlist"] == ["BTC/USDT", "ETH/USDT"]
    assert freqai["model_training_parameters"]["n_jobs"] == 1
    assert freqai["data_kitchen_thread_count"] == 2
    for config in (sample, example):
        assert config["exchange"]["pair_whitelist"] == list(STANDARD.pairs)
        assert (config["fee"], config["dry_run_wallet"], config["max_open_trades"]) == (
            0.001,
            1000,
            5,
        )


def test_variants_have_unique_names_and_known_lookup() -> None:
    names = [v.name for v in VARIANTS]
    assert len(names) == len(set(names))
    assert [v.name for v in by_name(["default", "h48"])] == ["default", "h48"]
    try:
        by_name(["nope"])
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("unknown variant accepted")


def test_entry_only_variants_share_the_trained_models(tmp_path: Path) -> None:
    default = strategy_spec(QUICK, by_name(["default"])[0], tmp_path)
    threshold = strategy_spec(QUICK, by_name(["thr-0.60"])[0], tmp_path)
    horizon = strategy_spec(QUICK, by_name(["h48"])[0], tmp_path)
    geometry = strategy_spec(QUICK, Variant("k", "wider stop", params={"k_sl": 2.0}), tmp_path)
    assert default.identifier == threshold.identifier
    assert horizon.identifier != default.identifier
    assert geometry.identifier != default.identifier  # barrier geometry changes the labels


def test_parameter_variant_runs_an_identical_copy_with_a_parameter_file(tmp_path: Path) -> None:
    spec = strategy_spec(QUICK, by_name(["thr-0.70"])[0], tmp_path)
    directory = Path(spec.config["strategy_path"])
    assert (directory / STRATEGY_FILE.name).read_bytes() == STRATEGY_FILE.read_bytes()
    params = json.loads((directory / "TripleBarrierML.json").read_text())
    assert params == {
        "strategy_name": "TripleBarrierML",
        "params": {"buy": {"entry_threshold": 0.7}},
    }


def test_calibration_variant_uses_a_generated_model_class(tmp_path: Path) -> None:
    spec = strategy_spec(QUICK, by_name(["sigmoid"])[0], tmp_path)
    name = calibrated_model_class("sigmoid")
    assert spec.config["freqaimodel"] == name
    source = (Path(spec.config["freqaimodel_path"]) / f"{name}.py").read_text()
    assert f"class {name}(TripleBarrierClassifierBase)" in source
    assert 'calibration_method = "sigmoid"' in source


def test_baseline_specs(tmp_path: Path) -> None:
    sample = sample_spec(STANDARD, tmp_path)
    assert sample.identifier is None and sample.strategy == "SampleStrategy"
    # The shipped template without any hyperopt parameter file next to it.
    copied = Path(sample.config["strategy_path"])
    assert sorted(p.name for p in copied.iterdir()) == ["sample_strategy.py"]
    template = FREQTRADE_TEMPLATES / "sample_strategy.py"
    assert (copied / "sample_strategy.py").read_bytes() == template.read_bytes()
    example = freqai_example_spec(STANDARD, tmp_path)
    assert example.strategy == EXAMPLE_SPOT
    assert example.identifier and example.identifier.startswith("tribar-eval-standard-freqai")
    source = (Path(example.config["strategy_path"]) / f"{EXAMPLE_SPOT}.py").read_text()
    assert "can_short = False" in source
    # Same cache key for the same inputs, a different one when the range changes.
    datadir = tmp_path / "data"
    datadir.mkdir()
    again = sample_spec(STANDARD, tmp_path)
    assert sample.cache_key(STANDARD, datadir) == again.cache_key(STANDARD, datadir)
    assert sample.cache_key(STANDARD, datadir) != sample.cache_key(QUICK, datadir)
