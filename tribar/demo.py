"""``tribar demo``: the README's first command.

One offline FreqAI walk-forward backtest on the bundled candles of two strategies that share
the trained models: the shipped ``TripleBarrierML`` (edge gate on) and ``TripleBarrierMLGateOff``
(the same models' calibrated probabilities, gate off). Then buy-and-hold of the same pairs, the
HTML report over the trades of the arm that traded, Freqtrade's ``plot-profit``, and a short
summary. Freqtrade's log goes to a file; the terminal shows a progress bar and the summary.

Everything the demo writes is under ``<user data>/demo/`` and its own FreqAI identifier
(``<user data>/models/tribar-demo``), both replaced on every run, so it never reuses or touches
the models of your own backtests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from freqtrade.configuration.load_config import load_from_files
from freqtrade.data.btanalysis import get_latest_backtest_filename

from tribar.analysis.ledger.trade_rows import exit_reason_overrides
from tribar.analysis.ledger.url import tribar_setting
from tribar.bundle_paths import FREQAIMODEL_DIR
from tribar.demo_figures import ArmFigures, buy_and_hold_figures, strategy_figures
from tribar.demo_freqtrade import file_log_config, run_freqtrade_logged, terminal_console
from tribar.demo_progress import counting_trainings, demo_progress, walk_forward_windows
from tribar.demo_report import DemoReport, write_report
from tribar.demo_summary import GateDecision, gate_sentence, print_summary
from tribar.evaluate.setup import RunSetup
from tribar.ml.model_metrics import edge_gate_openings

DEMO_TIMERANGE = "20250501-20251001"
DEMO_IDENTIFIER = "tribar-demo"
GATE_OFF_STRATEGY = "TripleBarrierMLGateOff"


@dataclass(frozen=True)
class DemoPaths:
    user_data: Path

    @property
    def folder(self) -> Path:
        return self.user_data / "demo"

    @property
    def log(self) -> Path:
        return self.folder / "freqtrade.log"

    @property
    def overlay(self) -> Path:
        return self.folder / "config.demo.json"

    @property
    def results(self) -> Path:
        return self.folder / "backtest_results"

    @property
    def ledger(self) -> Path:
        return self.folder / "ledger.sqlite"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def models(self) -> Path:
        return self.user_data / "models" / DEMO_IDENTIFIER

    @property
    def profit_plot(self) -> Path:
        # Where Freqtrade's plot-profit writes (it takes no output path).
        return self.user_data / "plot" / "freqtrade-profit-plot.html"


def overlay_config(paths: DemoPaths) -> dict[str, Any]:
    """Merged over the user's config: the demo's user data, FreqAI identifier and file log."""
    return {
        "user_data_dir": str(paths.user_data),
        # A --user-data-dir elsewhere has no freqaimodels/: name the bundle's.
        "freqaimodel_path": str(FREQAIMODEL_DIR),
        "freqai": {"identifier": DEMO_IDENTIFIER},
        "log_config": file_log_config(paths.log),
    }


def bundled_datadir(config: Mapping[str, Any]) -> Path:
    """The candles next to the config's user data (user_data/data/binance), wherever the
    demo writes."""
    return Path(config.get("user_data_dir") or "user_data") / "data" / config["exchange"]["name"]


def start_fresh(paths: DemoPaths) -> None:
    """Only the demo's own outputs: its models folder, log and previous results."""
    shutil.rmtree(paths.models, ignore_errors=True)
    shutil.rmtree(paths.results, ignore_errors=True)
    # Freqtrade writes into --backtest-directory only if it exists (else it is a file prefix).
    paths.results.mkdir(parents=True, exist_ok=True)
    paths.log.write_text("")
    paths.overlay.write_text(json.dumps(overlay_config(paths), indent=2))


def run_demo(config_file: str, timerange: str, user_data: Path) -> int:
    console = terminal_console()
    config = load_from_files([config_file])
    paths = DemoPaths(user_data)
    strategy = str(config["strategy"])
    setup = RunSetup(
        "demo", tuple(config["exchange"]["pair_whitelist"]), bundled_datadir(config), timerange,
        fee=float(config.get("fee") or 0.001), wallet=float(config["dry_run_wallet"]),
        max_open_trades=int(config["max_open_trades"]), timeframe=str(config["timeframe"]),
    )  # fmt: skip
    windows = walk_forward_windows(
        setup.start, setup.end, float(config["freqai"]["backtest_period_days"])
    )
    start_fresh(paths)
    days = f"{setup.start:%Y-%m-%d} .. {setup.end - timedelta(days=1):%Y-%m-%d}"
    console.print(
        f"tribar demo: {strategy}, {len(setup.pairs)} pairs, {days}, FreqAI walk-forward "
        "(offline, bundled candles)",
        soft_wrap=True,
    )
    console.print(f"Freqtrade's log: {paths.log}", soft_wrap=True, style="dim")
    common = ["-c", config_file, "-c", str(paths.overlay), "--timerange", timerange,
              "--datadir", str(setup.datadir)]  # fmt: skip
    with demo_progress(console) as progress:
        trainings = progress.add_task("walk-forward trainings", total=len(setup.pairs) * windows)
        steps = progress.add_task(f"backtest: {strategy} and {GATE_OFF_STRATEGY}", total=4)
        with counting_trainings(progress, trainings):
            code = run_freqtrade_logged(
                ["backtesting", *common, "--strategy-list", strategy, GATE_OFF_STRATEGY,
                 "--export", "signals", "--backtest-directory", str(paths.results),
                 "--cache", "none"],
                paths.log, console,
            )  # fmt: skip
        if code != 0:
            console.print(f"[red]tribar demo: backtesting failed (exit {code}); see {paths.log}")
            return code
        result = paths.results / get_latest_backtest_filename(paths.results)
        progress.update(steps, advance=1, description="figures: mark-to-market equity")
        gated = strategy_figures("shipped (gate on)", result, strategy, setup.start, setup.end)
        ungated = strategy_figures(
            "same models, gate off", result, GATE_OFF_STRATEGY, setup.start, setup.end
        )
        hold = buy_and_hold_figures("buy-and-hold", setup)
        # The report shows the trades of the arm that traded (the shipped one if both did).
        traded = strategy if gated.trades else GATE_OFF_STRATEGY if ungated.trades else None
        report: DemoReport | None = None
        plot_code = 0
        if traded is not None:
            progress.update(steps, advance=1, description=f"HTML report: {traded}'s trades")
            reasons = exit_reason_overrides(
                tribar_setting(config, "ledger_exit_reasons"), "tribar.ledger_exit_reasons"
            )
            report = write_report(result, traded, paths.ledger, paths.report, setup.wallet, reasons)
            progress.update(steps, advance=1, description=f"Freqtrade plot-profit: {traded}")
            plot_code = run_freqtrade_logged(
                ["plot-profit", *common, "--strategy", traded, "--backtest-filename", str(result)],
                paths.log, console,
            )  # fmt: skip
        progress.update(steps, completed=4, description="done")
    gate = _gate_decision(paths.models, len(setup.pairs), windows)
    files = _files(paths, config_file, result, traded, report, plot_code)
    print_summary(
        console,
        f"One backtest, same models, pairs and range ({len(setup.pairs)} pairs, {days}):",
        [gated, ungated, hold],
        _gate_line(gate, gated, ungated, hold),
        [*files, ("finished in", f"{_wall_seconds():.0f} s")],
    )
    return plot_code


def _gate_decision(models: Path, pairs: int, windows: int) -> GateDecision | None:
    openings = edge_gate_openings(models)
    if openings is None:
        return None
    return GateDecision(openings[0], openings[1], pairs, windows)


def _gate_line(
    gate: GateDecision | None, gated: ArmFigures, ungated: ArmFigures, hold: ArmFigures
) -> str:
    if gate is None:
        return (
            "The edge gate is off in this config (freqai.tribar.edge_gate_z: null): both "
            "strategies traded every model's calibrated probability."
        )
    return gate_sentence(gate, gated, ungated, hold)


def _files(
    paths: DemoPaths, config_file: str, result: Path, traded: str | None,
    report: DemoReport | None, plot_code: int,
) -> list[tuple[str, str]]:  # fmt: skip
    if report is None or traded is None:
        shown = [("HTML report", "not written: neither strategy traded")]
    else:
        plot = str(paths.profit_plot) if plot_code == 0 else f"plot-profit failed, see {paths.log}"
        shown = [
            ("HTML report", str(report.html)),
            ("", f"{traded}: {report.trades} trades, {report.with_confidence} of them with "
                 "the model's P(take-profit) at entry"),
            ("profit plot", f"{plot}  (Freqtrade plot-profit, {traded})"),
        ]  # fmt: skip
    return [
        *shown,
        ("backtest result", str(result)),
        ("its tables", f"tribar ft backtesting-show -c {config_file} --backtest-filename {result}"),
        ("trade ledger", report.ledger_url if report else "not written"),
        ("models", str(paths.models)),
        ("Freqtrade log", str(paths.log)),
    ]


def _wall_seconds() -> float:
    """Since this process started (imports included), as a user timing the command sees it."""
    return time.time() - psutil.Process().create_time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tribar demo", description=__doc__)
    parser.add_argument("-c", "--config", default="config.json")
    parser.add_argument("--timerange", default=DEMO_TIMERANGE)
    parser.add_argument(
        "--user-data-dir", type=Path, default=Path("user_data"),
        help="where the demo writes (default user_data); candles are read from the config's",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return run_demo(args.config, args.timerange, args.user_data_dir)
