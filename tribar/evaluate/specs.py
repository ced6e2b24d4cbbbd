"""The backtests of an evaluation: each strategy variant and the two Freqtrade baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tribar.evaluate.runner import MODEL_SOURCES, RunSpec, content_hash
from tribar.evaluate.setup import (
    FREQTRADE_TEMPLATES,
    REPO_ROOT,
    RunSetup,
    freqai_example_config,
    sample_strategy_config,
    strategy_config,
)
from tribar.evaluate.variants import Variant

STRATEGY = "TripleBarrierML"
STRATEGY_FILE = REPO_ROOT / "strategies" / f"{STRATEGY}.py"
EXAMPLE_SPOT = "FreqaiExampleStrategySpot"
# FreqaiExampleStrategy sets can_short = True, which Freqtrade refuses on spot markets ("set
# can_short=False ... short signals will be ignored"): this is exactly that, nothing else.
EXAMPLE_SPOT_SOURCE = f'''"""FreqaiExampleStrategy, long-only for spot (by tribar evaluate)."""

from freqtrade.templates.FreqaiExampleStrategy import FreqaiExampleStrategy


class {EXAMPLE_SPOT}(FreqaiExampleStrategy):
    can_short = False
'''


def strategy_sources() -> tuple[Path, ...]:
    """What a TripleBarrierML backtest result depends on besides its config: the strategy, its
    model, and the tribar and risk code it imports (the evaluation itself excluded)."""
    core = sorted(p for p in (REPO_ROOT / "tribar").glob("*.py"))
    packages = sorted(p for d in ("tribar/ml", "risk") for p in (REPO_ROOT / d).rglob("*.py"))
    return (STRATEGY_FILE, *(REPO_ROOT / s for s in MODEL_SOURCES), *core, *packages)


def _model_identity(setup: RunSetup, freqai: dict[str, Any], variant: Variant) -> str:
    """Changes whenever the trained models could: FreqAI settings, label/feature parameters,
    calibration, the strategy and model sources. Entry-only parameters are left out on purpose."""
    settings = {k: v for k, v in freqai.items() if k != "identifier"}
    sources = [STRATEGY_FILE.read_text(), *((REPO_ROOT / s).read_text() for s in MODEL_SOURCES)]
    return content_hash(setup.name, settings, variant.model_params(), variant.calibration, sources)


def calibrated_model_class(method: str) -> str:
    return f"TripleBarrierLGBM{method.capitalize()}"


def _model_dir_with_calibration(work_dir: Path, method: str) -> Path:
    """A FreqAI model class that differs from TripleBarrierLGBM only in its calibration."""
    name = calibrated_model_class(method)
    directory = work_dir / "freqaimodels" / method
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.py").write_text(
        f'''"""TripleBarrierLGBM with {method} calibration (written by tribar evaluate)."""

from tribar.ml.freqai_model import TripleBarrierClassifierBase


class {name}(TripleBarrierClassifierBase):
    calibration_method = "{method}"
'''
    )
    return directory


def _strategy_dir_with_params(work_dir: Path, variant: Variant) -> Path:
    """A byte-identical copy of the strategy with a parameter file next to it (Freqtrade reads
    ``<strategy>.json`` from the strategy file's directory)."""
    directory = work_dir / "strategies" / variant.name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    shutil.copy2(STRATEGY_FILE, directory / STRATEGY_FILE.name)
    params = {"strategy_name": STRATEGY, "params": {"buy": dict(variant.params)}}
    (directory / f"{STRATEGY}.json").write_text(json.dumps(params, indent=1))
    return directory


def strategy_spec(setup: RunSetup, variant: Variant, work_dir: Path) -> RunSpec:
    overrides = variant.freqai_overrides(setup.baseline_schedule)
    provisional = strategy_config(setup, "pending", overrides)
    model = _model_identity(setup, provisional["freqai"], variant)
    identifier = f"tribar-eval-{setup.name}-{model}"
    config = strategy_config(setup, identifier, overrides)
    if variant.params:
        config["strategy_path"] = str(_strategy_dir_with_params(work_dir, variant))
    if variant.calibration:
        config["freqaimodel"] = calibrated_model_class(variant.calibration)
        config["freqaimodel_path"] = str(_model_dir_with_calibration(work_dir, variant.calibration))
    return RunSpec(
        key=f"strategy/{variant.name}",
        label=f"{STRATEGY} [{variant.name}]",
        strategy=STRATEGY,
        config=config,
        identifier=identifier,
        source_files=strategy_sources(),
    )


def sample_spec(setup: RunSetup, work_dir: Path) -> RunSpec:
    """Freqtrade's SampleStrategy as shipped. It runs from a copy of the template without the
    ``sample_strategy.json`` next to it: Freqtrade's hyperopt writes its best parameters there
    (the offline hyperopt test does), which would silently change this baseline."""
    template = FREQTRADE_TEMPLATES / "sample_strategy.py"
    directory = work_dir / "strategies" / "sample"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    shutil.copy2(template, directory / template.name)
    config = sample_strategy_config(setup)
    config["strategy_path"] = str(directory)
    return RunSpec(
        key="baseline/sample",
        label="SampleStrategy",
        strategy="SampleStrategy",
        config=config,
        source_files=(template,),
    )


def freqai_example_spec(setup: RunSetup, work_dir: Path) -> RunSpec:
    directory = work_dir / "strategies" / "freqai-example"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{EXAMPLE_SPOT}.py").write_text(EXAMPLE_SPOT_SOURCE)
    provisional = freqai_example_config(setup, "pending")
    identifier = "tribar-eval-{}-freqai-example-{}".format(
        setup.name,
        content_hash(
            setup.name,
            {k: v for k, v in provisional["freqai"].items() if k != "identifier"},
            (FREQTRADE_TEMPLATES / "FreqaiExampleStrategy.py").read_text(),
        ),
    )
    config = freqai_example_config(setup, identifier)
    config.update(strategy=EXAMPLE_SPOT, strategy_path=str(directory))
    return RunSpec(
        key="baseline/freqai-example",
        label="FreqaiExampleStrategy + LightGBMRegressor",
        strategy=EXAMPLE_SPOT,
        config=config,
        identifier=identifier,
        source_files=(FREQTRADE_TEMPLATES / "FreqaiExampleStrategy.py",),
    )
