"""One evaluation: every variant and baseline on one setup, then the figures the report needs."""

from __future__ import annotations

import importlib
import json
import math
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.exchange import timeframe_to_minutes

from tribar.analysis.analytics import performance as perf
from tribar.evaluate import oos
from tribar.evaluate.baselines import buy_and_hold
from tribar.evaluate.data import PreparedData, pair_file, prepare_for_setup
from tribar.evaluate.metrics import (
    BacktestResult,
    Performance,
    load_result,
    performance,
)
from tribar.evaluate.runner import RunRecord, RunSpec, run_backtest
from tribar.evaluate.setup import MODELS_DIR, RunSetup
from tribar.evaluate.specs import freqai_example_spec, sample_spec, strategy_spec
from tribar.evaluate.variants import SPEED_COMPARISON, Variant
from tribar.labels import BarrierSpec
from tribar.ml.model_metrics import edge_gate_openings
from tribar.ml.registry import REGISTRY_DIR, REJECTED

Progress = Callable[[str], None]


@dataclass
class StrategyOutcome:
    variant: Variant
    record: RunRecord
    result: BacktestResult
    perf: Performance
    calibration: oos.Calibration
    trades: oos.TradeCalibration
    entry_threshold: float
    above_threshold: float  # share of scored candles with P(tp) >= the entry threshold
    null_ece: float  # ECE of each window's training take-profit rate as the forecast
    gate_openings: tuple[int, int] | None  # (edge gate passed, trainings judged); None: no gate
    # (candidates the champion/challenger gate rejected, trainings); None: the gate is off.
    challenger: tuple[int, int] | None = None


@dataclass
class BaselineOutcome:
    key: str
    label: str
    perf: Performance
    record: RunRecord | None = None  # None for buy-and-hold (computed, not backtested)
    result: BacktestResult | None = None


@dataclass
class Evaluation:
    setup: RunSetup
    data: PreparedData
    work_dir: Path
    strategies: list[StrategyOutcome]
    baselines: list[BaselineOutcome]
    finished_at: datetime
    machine: str
    # The design the evidence supports (ADOPTION_RULE): the shipped one unless the best
    # candidate clears the rule.
    chosen: StrategyOutcome = field(init=False)
    # The design with the highest daily Sharpe of all candidates (control runs excluded).
    best: StrategyOutcome = field(init=False)
    adopted: bool = field(init=False)  # the best candidate replaces the shipped design
    shipped: StrategyOutcome | None = field(init=False)  # None: not part of this run
    deflated_sharpe: float = field(init=False)  # of the best candidate, for `trials` trials
    trials: int = field(init=False)
    sharpe_variance: float = field(init=False)  # per-period Sharpe variance across candidates

    def __post_init__(self) -> None:
        candidates = [s for s in self.strategies if not s.variant.control] or self.strategies
        self.trials = len(candidates)
        # The highest daily Sharpe (ties: the first in VARIANTS order, which lists the shipped
        # design first among equals). The deflated Sharpe ratio corrects for this "best of N".
        self.best = max(candidates, key=lambda s: ranking_sharpe(s.perf))
        annual = [ranking_sharpe(s.perf) for s in candidates]
        sharpes = [x / math.sqrt(365) for x in annual if math.isfinite(x)]
        self.sharpe_variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
        self.deflated_sharpe = perf.deflated_sharpe_ratio(
            self.best.perf.daily_returns, max(1, self.trials), self.sharpe_variance
        )
        self.shipped = self.strategy(SHIPPED_DESIGN)
        shipped = self.shipped
        self.adopted = (
            shipped is not None
            and self.best is not shipped
            and adoption_rule_met(self.best, shipped, self.deflated_sharpe)
        )
        self.chosen = shipped if shipped is not None and not self.adopted else self.best

    def strategy(self, name: str) -> StrategyOutcome | None:
        return next((s for s in self.strategies if s.variant.name == name), None)

    def baseline(self, key: str) -> BaselineOutcome | None:
        return next((b for b in self.baselines if b.key == key), None)


# The variant that is config.json as shipped.
SHIPPED_DESIGN = "edge-gate"
# Issue 15's rule for changing the shipped design: it must beat the shipped one, the lower end of
# its Sharpe 95 % bootstrap interval must be above 0, and its deflated Sharpe ratio (for every
# variant tried on the setup) at least 0.9.
ADOPTION_MIN_DSR = 0.9
ADOPTION_RULE = (
    "a design replaces the shipped one only if it has a higher daily Sharpe, the lower end of "
    f"its Sharpe 95 % bootstrap interval is above 0 and its deflated Sharpe ratio (for every "
    f"variant tried) is at least {ADOPTION_MIN_DSR}"
)


def adoption_rule_met(best: StrategyOutcome, shipped: StrategyOutcome, dsr: float) -> bool:
    return (
        ranking_sharpe(best.perf) > ranking_sharpe(shipped.perf)
        and math.isfinite(best.perf.sharpe_ci[0])
        and best.perf.sharpe_ci[0] > 0
        and math.isfinite(dsr)
        and dsr >= ADOPTION_MIN_DSR
    )


def ranking_sharpe(p: Performance) -> float:
    """Annualised Sharpe for choosing between variants; a variant that never held a position
    (every daily return 0, Sharpe undefined) ranks as 0: staying flat is a valid outcome."""
    if math.isfinite(p.sharpe):
        return p.sharpe
    return 0.0 if bool((p.daily_returns == 0).all()) else -math.inf


def machine_description() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs; load average at "
        f"the end {load}), Python {platform.python_version()}"
    )


def _strategy_class(variant: Variant) -> type:
    module = importlib.import_module(f"tribar.strategies.{variant.strategy}")
    strategy: type = getattr(module, variant.strategy)
    return strategy


def _strategy_params(variant: Variant) -> dict[str, float | bool]:
    """The strategy's parameter defaults with the variant's values (barrier geometry, threshold)."""
    strategy = _strategy_class(variant)
    names = ("k_tp", "k_sl", "atr_period", "entry_threshold")
    values: dict[str, float | bool] = {n: getattr(strategy, n).value for n in names}
    values.update(variant.params)
    return values


def _score_strategy(
    spec: RunSpec, record: RunRecord, variant: Variant, setup: RunSetup, datadir: Path,
    labels_cache: dict[tuple[object, ...], pd.DataFrame],
) -> StrategyOutcome:  # fmt: skip
    result = load_result(record.result_path, spec.strategy, setup.start, setup.end)
    params = _strategy_params(variant)
    horizon = int(spec.config["freqai"]["feature_parameters"]["label_period_candles"])
    barrier = BarrierSpec(
        k_tp=float(params["k_tp"]), k_sl=float(params["k_sl"]), horizon=horizon, fee=setup.fee
    )
    timeframe = str(spec.config.get("timeframe") or setup.timeframe)
    key = (barrier, int(params["atr_period"]), timeframe)
    if key not in labels_cache:
        labels_cache[key] = oos.realised_labels(
            datadir, setup.pairs, timeframe, barrier, int(params["atr_period"])
        )
    assert spec.identifier is not None
    predictions = oos.load_predictions(MODELS_DIR / spec.identifier, setup.pairs)
    labels = labels_cache[key]
    scored_candles = scoring_mask(variant, params, datadir, setup.pairs, spec.config, timeframe)
    if scored_candles is not None:
        # A design whose model judges only some candles (meta-labelling: the primary's bets) is
        # scored on those: predictions elsewhere were never what it trades or was trained on, and
        # the null forecast's base rate is that of the same candles.
        predictions = _only_masked(predictions, scored_candles)
        labels = labels.assign(outcome=labels["outcome"].where(_in_mask(labels, scored_candles)))
    calibration = oos.score(predictions, labels, setup.start, setup.end)
    candle = pd.Timedelta(minutes=timeframe_to_minutes(timeframe))
    threshold = float(params["entry_threshold"])
    null_ece = oos.null_forecast_ece(
        calibration.scored, labels,
        float(spec.config["freqai"]["train_period_days"]), horizon, candle,
    )  # fmt: skip
    return StrategyOutcome(
        variant=variant,
        record=record,
        result=result,
        perf=performance(result.equity, result.trades, setup.start, setup.end),
        calibration=calibration,
        trades=oos.trade_calibration(result.trades, predictions, candle),
        entry_threshold=threshold,
        above_threshold=float((calibration.scored["p_tp"] >= threshold).mean()),
        null_ece=null_ece,
        gate_openings=edge_gate_openings(MODELS_DIR / spec.identifier),
        challenger=(
            challenger_rejections(MODELS_DIR / spec.identifier)
            if _challenger_enabled(spec.config)
            else None
        ),
    )


# The optional classmethod of a strategy class whose predictions are scored on some candles
# only: ``scoring_mask(candles, regime_daily, params, timeframe) -> pd.Series | None`` (a boolean
# per row of ``candles``, a pair's candle file; ``regime_daily``: the regime pair's 1d candles or
# None; ``params``: the variant's parameter values). TripleBarrierML has none: every candle.
SCORING_MASK_HOOK = "scoring_mask"


def scoring_mask(
    variant: Variant, params: Mapping[str, Any], datadir: Path, pairs: Sequence[str],
    config: Mapping[str, Any], timeframe: str,
) -> pd.DataFrame | None:  # fmt: skip
    """pair, date of the candles the variant's strategy scores; None: all of them."""
    hook = getattr(_strategy_class(variant), SCORING_MASK_HOOK, None)
    if hook is None:
        return None
    regime_file = datadir / pair_file(f"BTC/{config['stake_currency']}", "1d")
    regime_daily = pd.read_feather(regime_file) if regime_file.is_file() else None
    frames = []
    for pair in pairs:
        candles = pd.read_feather(datadir / pair_file(pair, timeframe))
        mask = hook(candles, regime_daily, params, timeframe)
        if mask is None:
            return None
        frames.append(pd.DataFrame({"pair": pair, "date": candles.loc[mask.to_numpy(), "date"]}))
    return pd.concat(frames, ignore_index=True)


def _pair_dates(frame: pd.DataFrame) -> pd.MultiIndex:
    # Candle files and FreqAI's prediction files may store dates at different resolutions.
    dates = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
    return pd.MultiIndex.from_arrays([frame["pair"].to_numpy(), dates], names=["pair", "date"])


def _in_mask(frame: pd.DataFrame, mask: pd.DataFrame) -> pd.Series:
    inside = _pair_dates(frame).isin(_pair_dates(mask))
    return pd.Series(inside, index=frame.index)


def _only_masked(predictions: pd.DataFrame, mask: pd.DataFrame) -> pd.DataFrame:
    return predictions.loc[_in_mask(predictions, mask)].reset_index(drop=True)


def challenger_rejections(model_dir: Path) -> tuple[int, int] | None:
    """(trainings the champion/challenger gate rejected, trainings registered) under a FreqAI
    identifier's folder, from its model registry; None when nothing was registered."""
    rejected = registered = 0
    for path in sorted((model_dir / REGISTRY_DIR).glob("*.json")):
        versions = json.loads(path.read_text()).get("versions", [])
        registered += len(versions)
        rejected += sum(1 for v in versions if v.get("status") == REJECTED)
    return (rejected, registered) if registered else None


def _challenger_enabled(config: Mapping[str, Any]) -> bool:
    challenger = config["freqai"].get("tribar", {}).get("challenger") or {}
    return bool(challenger.get("enabled"))


def run_evaluation(
    setup: RunSetup,
    variants: Sequence[Variant],
    work_dir: Path,
    *,
    reuse: bool = True,
    fresh_models: bool = False,
    progress: Progress = print,
) -> Evaluation:
    data = prepare_for_setup(setup, work_dir)
    if data.derived:
        progress(f"derived from 1h candles (missing in {setup.datadir}): {', '.join(data.derived)}")

    freshened: set[str] = set()

    def run(spec: RunSpec) -> RunRecord:
        progress(f"backtesting {spec.label} …")
        # Variants that share a model directory train it once; the others reuse its predictions.
        fresh = fresh_models and spec.identifier not in freshened
        if spec.identifier is not None and fresh_models:
            freshened.add(spec.identifier)
        record = run_backtest(
            spec, setup, work_dir, data.datadir,
            reuse=reuse and not fresh_models, fresh_models=fresh,
        )  # fmt: skip
        models = "" if spec.identifier is None else (
            ", models trained" if record.trained else ", saved FreqAI predictions reused"
        )  # fmt: skip
        progress(f"  {spec.label}: {record.wall_seconds:.0f} s wall{models} ({record.result_file})")
        return record

    labels_cache: dict[tuple[object, ...], pd.DataFrame] = {}
    outcomes = []
    for variant in variants:
        spec = strategy_spec(setup, variant, work_dir)
        outcomes.append(
            _score_strategy(spec, run(spec), variant, setup, data.datadir, labels_cache)
        )

    baseline_outcomes = []
    equity, trades = buy_and_hold(setup, data.datadir)
    hold = performance(equity, trades, setup.start, setup.end)
    baseline_outcomes.append(BaselineOutcome("buy-and-hold", "Buy-and-hold, equal weight", hold))
    for spec in (sample_spec(setup, work_dir), freqai_example_spec(setup, work_dir)):
        record = run(spec)
        result = load_result(record.result_path, spec.strategy, setup.start, setup.end)
        figures = performance(result.equity, result.trades, setup.start, setup.end)
        key = spec.key.split("/")[1]
        baseline_outcomes.append(BaselineOutcome(key, spec.label, figures, record, result))
    return Evaluation(
        setup=setup,
        data=data,
        work_dir=work_dir,
        strategies=outcomes,
        baselines=baseline_outcomes,
        finished_at=datetime.now(UTC),
        machine=machine_description(),
    )


def speed_pair(evaluation: Evaluation) -> tuple[RunRecord, RunRecord] | None:
    """The strategy on the baseline's schedule and FreqaiExampleStrategy, if both trained here."""
    ours = evaluation.strategy(SPEED_COMPARISON.name)
    example = evaluation.baseline("freqai-example")
    if ours is None or example is None or example.record is None:
        return None
    return ours.record, example.record
