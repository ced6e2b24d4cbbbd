"""What ``tribar demo`` prints at the end: the three arms side by side, one sentence on the edge
gate, and where the files are."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from tribar.demo_figures import ArmFigures


def signed_pct(value: float) -> str:
    return f"{value * 100:+.2f} %"


def plain_pct(value: float) -> str:
    return f"{value * 100:.2f} %"


def factor(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "\u221e" if math.isinf(value) else f"{value:.2f}"


def figures_table(arms: Sequence[ArmFigures]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("")
    for name in ("total return", "max drawdown*", "trades", "profit factor"):
        table.add_column(name, justify="right")
    for arm in arms:
        style = "green" if arm.total_return > 0 else "red" if arm.total_return < 0 else ""
        total = signed_pct(arm.total_return)
        table.add_row(
            arm.label,
            f"[{style}]{total}[/]" if style else total,
            plain_pct(arm.max_drawdown),
            str(arm.trades),
            factor(arm.profit_factor),
        )
    return table


@dataclass(frozen=True)
class GateDecision:
    passed: int
    judged: int  # trainings the gate judged
    pairs: int
    windows: int


def gate_sentence(
    gate: GateDecision, gate_on: ArmFigures, gate_off: ArmFigures, hold: ArmFigures
) -> str:
    trainings = f"the {gate.judged} trainings ({gate.pairs} pairs \u00d7 {gate.windows} windows)"
    if gate.passed == 0:
        decided = (
            f"The edge gate found an edge in none of {trainings}, so every model predicted its "
            "pair's long-run take-profit rate"
        )
    else:
        decided = (
            f"The edge gate found an edge in {gate.passed} of {trainings}; the other models "
            "predicted their pair's long-run take-profit rate"
        )
    shipped = (
        "the shipped strategy did not trade"
        if gate_on.trades == 0
        else f"the shipped strategy made {gate_on.trades} trades "
        f"({signed_pct(gate_on.total_return)})"
    )
    sentence = (
        f"{decided} and {shipped}; with the gate off, the same models' calibrated probabilities "
        f"would have returned {signed_pct(gate_off.total_return)} over {gate_off.trades} trades "
        f"(buy-and-hold: {signed_pct(hold.total_return)})."
    )
    # A no-break space keeps "+54.34 %" together when the sentence is wrapped.
    return sentence.replace(" %", "\u00a0%")


def print_summary(
    console: Console,
    heading: str,
    arms: Sequence[ArmFigures],
    sentence: str,
    files: Sequence[tuple[str, str]],
) -> None:
    console.print()
    console.print(heading, style="bold")
    console.print(figures_table(arms))
    console.print(
        "* mark-to-market, hourly (Freqtrade's own drawdown counts closed trades only)",
        style="dim",
    )
    console.print()
    # textwrap breaks only at ASCII spaces, so "+54.34 %" (a no-break space) stays together.
    console.print(textwrap.fill(sentence, width=console.width), soft_wrap=True)
    console.print()
    width = max(len(name) for name, _ in files)
    for name, where in files:
        console.print(f"  {name:<{width}}  {where}", soft_wrap=True)
