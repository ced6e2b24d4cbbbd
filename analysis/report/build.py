"""``tribar report``'s content: every analytics figure for one filter, and its terminal view."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tribar.analysis import analytics as an

NA = "n/a"


@dataclass(frozen=True)
class Report:
    """All figures of one report, fetched once and shared by the terminal and HTML views."""

    source: str
    flt: an.TradeFilter
    generated_at: datetime
    currency: str
    summary: an.LedgerSummary
    extremes: an.Extremes
    hours: pd.DataFrame
    weekdays: pd.DataFrame
    matrix: an.HourWeekdayMatrix
    pairs: pd.DataFrame
    confidence: an.ConfidenceBuckets
    execution: an.ExecutionQuality
    equity: pd.DataFrame

    @property
    def warnings(self) -> list[str]:
        """What the reader must know to trust the figures."""
        out = []
        if "/" in self.currency:
            out.append(
                f"trades in several stake currencies ({self.currency.replace('/', ', ')}): "
                "pnl sums mix them; narrow the selection with --pair"
            )
        return out


def build_report(
    engine: sa.Engine,
    flt: an.TradeFilter,
    *,
    starting_balance: float = 1000.0,
    n_buckets: int = 10,
    source: str = "",
) -> Report:
    """Run every analytics query for ``flt`` (``source`` names the ledger in the headers)."""
    hours = an.by_hour(engine, flt)
    pairs = an.by_pair(engine, flt)
    currencies = an.stake_currencies(engine, flt)
    return Report(
        source=source,
        flt=flt,
        generated_at=datetime.now(UTC),
        currency="/".join(currencies) if currencies else "",
        summary=an.summary(engine, flt, starting_balance=starting_balance),
        extremes=an.pick_extremes(hours, pairs),
        hours=hours,
        weekdays=an.by_weekday(engine, flt),
        matrix=an.hour_weekday_matrix(engine, flt),
        pairs=pairs,
        confidence=an.confidence_buckets(engine, flt, n_buckets=n_buckets),
        execution=an.execution_quality(engine, flt),
        equity=an.equity_curve(engine, flt, starting_balance=starting_balance),
    )


# --- formatting shared with the HTML view ------------------------------------------------------


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None, currency: str = "", signed: bool = True) -> str:
    if _missing(value):
        return NA
    assert value is not None
    text = f"{value:+,.2f}" if signed else f"{value:,.2f}"
    return f"{text} {currency}".rstrip()


def pct(value: float | None, digits: int = 1) -> str:
    if _missing(value):
        return NA
    assert value is not None
    return f"{value * 100:.{digits}f} %"


def ratio(value: float | None) -> str:
    if _missing(value):
        return NA
    assert value is not None
    return "∞" if math.isinf(value) else f"{value:.2f}"


def number(value: float | None, digits: int = 2) -> str:
    if _missing(value):
        return NA
    assert value is not None
    return f"{value:,.{digits}f}"


def when(value: datetime | None, zone: bool = True) -> str:
    if value is None:
        return NA
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return f"{text} UTC" if zone else text


def span(start: datetime | None, end: datetime | None, sep: str) -> str:
    if start is None and end is None:
        return NA
    return f"{when(start, zone=False)}{sep}{when(end, zone=False)} UTC"


def hour_label(hour: int | None) -> str:
    return NA if hour is None else f"{hour:02d}:00-{hour:02d}:59"


def summary_rows(report: Report) -> list[tuple[str, str]]:
    """The headline figures as (label, value) text, in reading order."""
    s, cur = report.summary, report.currency
    ext = report.extremes
    return [
        ("Trades", f"{s.trades:,} ({s.wins:,} won, {s.losses:,} lost)"),
        ("Win rate", pct(s.win_rate)),
        ("Net pnl", money(s.net_pnl, cur)),
        ("Average pnl per trade", money(s.avg_pnl, cur)),
        ("Profit factor", ratio(s.profit_factor)),
        (
            "Expectancy (per trade / ratio)",
            f"{money(s.expectancy, cur)} / {ratio(s.expectancy_ratio)}",
        ),
        ("Commission paid", money(s.commission, cur, signed=False)),
        (
            "Balance (start → end)",
            f"{money(s.starting_balance, cur, signed=False)} → "
            f"{money(s.final_balance, cur, signed=False)}",
        ),
        ("Sharpe (daily, annualised)", ratio(s.sharpe)),
        ("Sortino (daily, annualised)", ratio(s.sortino)),
        ("Max drawdown", money(-s.max_drawdown if s.max_drawdown else 0.0, cur)),
        ("Max drawdown (% of peak balance)", pct(s.max_drawdown_pct, 2)),
        ("Drawdown peak → trough", span(s.drawdown_peak_at, s.drawdown_trough_at, " → ")),
        ("First / last close", span(s.first_close, s.last_close, " / ")),
        ("Best / worst hour (UTC)", f"{hour_label(ext.best_hour)} / {hour_label(ext.worst_hour)}"),
        ("Best / worst pair", f"{ext.best_pair or NA} / {ext.worst_pair or NA}"),
    ]


# --- terminal view -----------------------------------------------------------------------------


def _pnl(value: float | None, currency: str = "") -> Text:
    style = "" if _missing(value) or value == 0 else ("green" if value and value > 0 else "red")
    return Text(money(value, currency), style=style)


def _group_table(title: str, frame: pd.DataFrame, label: str, keys: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in (
        (label, "left"), ("Trades", "right"), ("Win rate", "right"), ("Net pnl", "right"),
        ("Avg pnl", "right"), ("Profit factor", "right"),
    ):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for key, (_, row) in zip(keys, frame.iterrows(), strict=True):
        table.add_row(
            key,
            f"{int(row['trades']):,}",
            pct(row["win_rate"]),
            _pnl(row["net_pnl"]),
            _pnl(row["avg_pnl"]),
            ratio(row["profit_factor"]),
        )
    return table


def render_terminal(report: Report, console: Console) -> None:
    s = report.summary
    # soft_wrap: URLs and paths must stay copyable, not be cut at the terminal width.
    console.print(f"[bold]tribar report[/bold] — {report.source}", soft_wrap=True, highlight=False)
    console.print(f"Filter: {report.flt.describe()}", soft_wrap=True, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]Warning: {warning}[/yellow]", soft_wrap=True, highlight=False)
    if s.empty:
        console.print("[yellow]No trades match this filter.[/yellow]")
        return

    head = Table(title="Summary", title_justify="left", show_header=False)
    head.add_column("figure")
    head.add_column("value", justify="right")
    for label, value in summary_rows(report):
        head.add_row(label, value)
    console.print(head)

    console.print(_group_table("Pairs", report.pairs, "Pair", [str(p) for p in report.pairs.index]))
    console.print(
        _group_table("Weekday (UTC)", report.weekdays, "Day", list(report.weekdays["name"]))
    )
    console.print(
        _group_table(
            "Hour of day (UTC)", report.hours, "Hour", [f"{h:02d}" for h in report.hours.index]
        )
    )
    conf = report.confidence
    labels = [
        f"{lo:.2f}-{hi:.2f}"
        for lo, hi in zip(conf.frame["lower"], conf.frame["upper"], strict=True)
    ]
    console.print(_group_table("Model confidence", conf.frame, "Confidence", labels))
    if conf.unscored_trades:
        console.print(
            f"  {conf.unscored_trades:,} trade(s) without a model confidence, "
            f"net {money(conf.unscored_net_pnl, report.currency)}"
        )

    ex = Table(title="Execution quality", title_justify="left")
    for col in ("", "Trades with data", "Mean", "p50", "p90", "p99", "Max"):
        ex.add_column(col, justify="right" if col else "left")
    for name, d in (
        ("Slippage (bps)", report.execution.slippage_bps),
        ("Latency (ms)", report.execution.order_latency_ms),
    ):
        ex.add_row(name, f"{d.count:,}", *(number(v) for v in (d.mean, d.p50, d.p90, d.p99, d.max)))
    console.print(ex)
