"""The demo's HTML report: one strategy's backtest trades imported into a SQLite ledger of the
demo's own, then ``tribar report``'s HTML view over them (equity, drawdown, confidence vs pnl)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tribar.analysis.analytics import TradeFilter
from tribar.analysis.ledger import migrate as ledger_migrate
from tribar.analysis.ledger.db import create_ledger_engine
from tribar.analysis.ledger.importers import import_backtest
from tribar.analysis.report.build import build_report
from tribar.analysis.report.html import write_html


@dataclass(frozen=True)
class DemoReport:
    html: Path
    ledger_url: str
    trades: int  # imported into the ledger
    with_confidence: int  # of those, trades with the model's P(take-profit) at entry


def write_report(
    result: Path,
    strategy: str,
    ledger: Path,
    html: Path,
    starting_balance: float,
    exit_reasons: Mapping[str, str],
) -> DemoReport:
    """A fresh ledger at ``ledger`` with ``strategy``'s trades of ``result``, and its report."""
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.unlink(missing_ok=True)
    url = f"sqlite:///{ledger}"
    ledger_migrate.upgrade(url)
    engine = create_ledger_engine(url)
    try:
        import_backtest(engine, result, strategy=strategy, exit_reasons=exit_reasons)
        report = build_report(
            engine,
            TradeFilter(strategy=strategy),
            starting_balance=starting_balance,
            source=f"{result.name} [{strategy}]",
        )
    finally:
        engine.dispose()
    trades = report.summary.trades
    scored = trades - report.confidence.unscored_trades
    return DemoReport(write_html(report, html), url, trades, scored)
