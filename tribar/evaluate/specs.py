"""The backtests of an evaluation: each strategy variant and the two Freqtrade baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.evaluate.runner import MODEL_SOURCES, RunSpec, content_hash
from tribar.evaluate.setup import (
    FREQTRADE_TEMPLATES,
    REPO_ROOT,
    RunSetup,
    deep_merge,
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


def strategy_file(variant: Variant) -> Path:
    return REPO_ROOT / "strategies" / f"{variant.strategy}.py"


def freqaimodel_file(variant: Variant) -> Path | None:
    if variant.freqaimodel is None:
        return None
    return FREQAIMODEL_DIR / f"{variant.freqaimodel}.py"


def _is_new_design(variant: Variant) -> bool:
    """A second-round design (tribar.designs): its own strategy, model class or config."""
    return variant.strategy != STRATEGY or bool(variant.freqaimodel) or bool(variant.config)


def strategy_sources(variant: Variant | None = None) -> tuple[Path, ...]:
    """What a TripleBarrierML backtest result depends on besides its config: the strategy (and
    the variant's subclass and model class), and the tribar and risk code it imports (the
    evaluation itself excluded)."""
    core = sorted(p for p in (REPO_ROOT / "tribar").glob("*.py"))
    packages = sorted(p for d in ("tribar/ml", "risk") for p in (REPO_ROOT / d).rglob("*.py"))
    own = [] if variant is None else [strategy_file(variant), freqaimodel_file(variant)]
    extra = [p for p in own if p is not None and p != STRATEGY_FILE]
    if variant is not None and _is_new_design(variant):
        extra += sorted((REPO_ROOT / "tribar" / "designs").rglob("*.py"))
    return (STRATEGY_FILE, *extra, *(REPO_ROOT / s for s in MODEL_SOURCES), *core, *packages)


def _model_identity(setup: RunSetup, config: dict[str, Any], variant: Variant) -> str:
    """Changes whenever the trained models could: FreqAI settings, timeframe, label/feature
    parameters, calibration, the strategy and model sources. Entry-only parameters are left out
    on purpose."""
    freqai = config["freqai"]
    settings = {k: v for k, v in freqai.items() if k != "identifier"}
    files = [STRATEGY_FILE, *(REPO_ROOT / s for s in MODEL_SOURCES)]
    files += [p for p in (strategy_file(variant), freqaimodel_file(variant))
              if p is not None and p != STRATEGY_FILE]  # fmt: skip
    sources = [p.read_text() for p in files]
    # Variants of the original design keep their identifiers (and trained models).
    design: tuple[Any, ...] = ()
    if _is_new_design(variant):
        design = (variant.strategy, variant.freqaimodel, dict(variant.config))
        sources += [p.read_text() for p in sorted((REPO_ROOT / "tribar" / "designs").rglob("*.py"))]
    return content_hash(
        setup.name, settings, variant.model_params(), variant.calibration, sources, *design
    )


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
    """A byte-identical copy of the strategy file with a parameter file next to it (Freqtrade
    reads ``<strategy file>.json`` from the strategy file's directory)."""
    source = strategy_file(variant)
    directory = work_dir / "strategies" / variant.name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    shutil.copy2(source, directory / source.name)
    params = {"strategy_name": variant.strategy, "params": {"buy": dict(variant.params)}}
    (directory / f"{source.stem}.json").write_text(json.dumps(params, indent=1))
    return directory


def variant_config(setup: RunSetup, variant: Variant, identifier: str) -> dict[str, Any]:
    config = strategy_config(setup, identifier, variant.freqai_overrides(setup.baseline_schedule))
    return deep_merge(config, {**variant.config, "freqai": config["freqai"]})


def strategy_spec(setup: RunSetup, variant: Variant, work_dir: Path) -> RunSpec:
    model = _model_identity(setup, variant_config(setup, variant, "pending"), variant)
    identifier = f"tribar-eval-{setup.name}-{model}"
    config = variant_config(setup, variant, identifier)
    config["strategy"] = variant.strategy
    if variant.params:
        config["strategy_path"] = str(_strategy_dir_with_params(work_dir, variant))
    if variant.freqaimodel:
        config["freqaimodel"] = variant.freqaimodel
    elif variant.calibration:
        config["freqaimodel"] = calibrated_model_class(variant.calibration)
        config["freqaimodel_path"] = str(_model_dir_with_calibration(work_dir, variant.calibration))
    return RunSpec(
        key=f"strategy/{variant.name}",
        label=f"{variant.strategy} [{variant.name}]",
        strategy=variant.strategy,
        config=config,
        identifier=identifier,
        source_files=strategy_sources(variant),
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
