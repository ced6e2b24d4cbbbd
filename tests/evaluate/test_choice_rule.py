"""The rule that decides whether a design replaces the shipped one (issue 15): higher daily
Sharpe, the lower end of its Sharpe 95 % interval above 0, deflated Sharpe ratio >= 0.9 over
every design tried; control runs are never chosen and not counted as trials."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd

from tribar.analysis.analytics.performance import deflated_sharpe_ratio
from tribar.evaluate.evaluation import SHIPPED_DESIGN, Evaluation, StrategyOutcome
from tribar.evaluate.setup import QUICK
from tribar.evaluate.variants import VARIANTS, Variant


def outcome(name: str, returns: pd.Series, ci_low: float, control: bool = False) -> Any:
    sharpe = float(returns.mean() / returns.std() * np.sqrt(365)) if returns.std() > 0 else np.nan
    perf = SimpleNamespace(sharpe=sharpe, sharpe_ci=(ci_low, ci_low + 2), daily_returns=returns)
    return SimpleNamespace(variant=Variant(name, name, control=control), perf=perf)


def flat() -> pd.Series:
    return pd.Series(np.zeros(273))


def noisy(mean: float, seed: int) -> pd.Series:
    """Daily returns with exactly this mean (annualised Sharpe about mean / 0.01 * 19.1)."""
    noise = np.random.default_rng(seed).normal(0, 0.01, 273)
    return pd.Series(noise - noise.mean() + mean)


def evaluate(*strategies: Any) -> Evaluation:
    return Evaluation(
        setup=QUICK, data=cast(Any, None), work_dir=Path("."),
        strategies=cast(list[StrategyOutcome], list(strategies)), baselines=[],
        finished_at=datetime.now(UTC), machine="test",
    )  # fmt: skip


def test_a_better_design_without_enough_evidence_leaves_the_shipped_default() -> None:
    shipped = outcome(SHIPPED_DESIGN, flat(), np.nan)
    better = outcome("candidate", noisy(0.0005, 1), -0.8)  # positive Sharpe, interval spans 0
    e = evaluate(shipped, better, outcome("worse", noisy(-0.003, 2), -3.0))
    assert e.best is better and e.chosen is shipped and not e.adopted
    assert e.trials == 3


def test_a_design_that_meets_the_rule_is_chosen() -> None:
    shipped = outcome(SHIPPED_DESIGN, flat(), np.nan)
    strong = outcome("strong", noisy(0.004, 3), 1.2)
    e = evaluate(shipped, strong, outcome("worse", noisy(-0.003, 2), -3.0))
    assert e.deflated_sharpe >= 0.9 and e.best is strong and e.chosen is strong and e.adopted


def test_each_condition_alone_blocks_the_change() -> None:
    shipped = outcome(SHIPPED_DESIGN, flat(), np.nan)
    # The interval's lower end at 0: not adopted, whatever the DSR.
    e = evaluate(shipped, outcome("strong", noisy(0.004, 3), 0.0))
    assert not e.adopted and e.chosen is shipped
    # The same returns among many designs: the DSR falls below 0.9.
    weak = noisy(0.0012, 5)
    many = [outcome(f"v{i}", noisy(-0.002, 10 + i), -2.0) for i in range(40)]
    e = evaluate(shipped, outcome("lucky", weak, 0.1), *many)
    assert e.best.variant.name == "lucky" and e.deflated_sharpe < 0.9
    assert not e.adopted and e.chosen is shipped
    assert e.deflated_sharpe == deflated_sharpe_ratio(weak, 42, e.sharpe_variance)


def test_a_control_run_is_never_chosen_nor_a_trial() -> None:
    shipped = outcome(SHIPPED_DESIGN, flat(), np.nan)
    control = outcome("placebo", noisy(0.004, 3), 1.2, control=True)
    e = evaluate(shipped, control)
    assert e.best is shipped and e.chosen is shipped and e.trials == 1


def test_the_shipped_design_is_a_variant_and_the_placebo_a_control() -> None:
    names = {v.name: v for v in VARIANTS}
    assert not names[SHIPPED_DESIGN].freqai and not names[SHIPPED_DESIGN].control
    assert names["edge-gate-placebo"].control


def _traded(name: str, trades: int, auc: float) -> Any:
    s = outcome(name, noisy(0.0001, trades), -1.0)
    s.perf.trades, s.perf.total_return, s.perf.max_drawdown = trades, 0.01, 0.05
    s.perf.profit_factor, s.perf.exposure = 1.1, 0.3
    s.calibration = SimpleNamespace(n=1000, base_rate=0.3, auc=auc)
    s.gate_openings = (2, 140) if name.startswith("meta") else (0, 140)
    return s


def test_the_report_sets_each_primary_beside_its_meta_label_run() -> None:
    from tribar.evaluate.report import meta_label_section

    shipped = outcome(SHIPPED_DESIGN, flat(), np.nan)
    assert meta_label_section(evaluate(shipped)) is None
    runs = [_traded(n, t, a) for n, t, a in (("primary-tsmom", 400, 0.51),
            ("meta-tsmom", 60, 0.53), ("primary-donchian", 300, 0.49))]  # fmt: skip
    section = meta_label_section(evaluate(shipped, *runs))
    assert section is not None
    lines = [line for line in section.splitlines() if line.startswith("| `")]
    # Only complete pairs, primary first: donchian has no meta run here.
    assert [line.split("|")[1].strip() for line in lines] == ["`primary-tsmom`", "`meta-tsmom`"]
    assert "| 400 |" in lines[0] and "| 60 |" in lines[1] and "2/140" in lines[1]
