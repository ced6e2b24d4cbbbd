"""``tribar paper parity``: backtest a replay's strategy, config and period, and compare."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from tribar.paper.errors import ReplayError
from tribar.paper.parity import ParityRecords, ParitySummary, TradeMatch, match_trades, summarise
from tribar.paper.report import load_trades

_CANCELLED_ENTRY = re.compile(
    r"Buy order cancelled due to timeout for Trade\(id=\d+, pair=(?P<pair>[^,]+),.*?"
    r"open_since=(?P<since>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"
)
_TRAINING_FOLDER = re.compile(r"sub-train-(?P<coin>[A-Za-z0-9]+)_(?P<ts>\d+)$")


def cancelled_entries_from_log(log: Path) -> pd.DataFrame:
    """Entry orders Freqtrade cancelled on timeout, from its log: a fully cancelled entry
    removes the trade and its orders from the database, so the log is the only record."""
    rows = []
    if log.is_file():
        for line in log.read_text(errors="replace").splitlines():
            found = _CANCELLED_ENTRY.search(line)
            if found:
                since = datetime.strptime(found["since"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                rows.append((found["pair"], pd.Timestamp(since)))
    return pd.DataFrame(rows, columns=["pair", "order_date"])


def training_times(models: Path, stake: str) -> dict[str, list[datetime]]:
    """Training end times per pair from FreqAI's ``sub-train-<COIN>_<end>`` folders."""
    times: dict[str, list[datetime]] = {}
    if not models.is_dir():
        return times
    for folder in models.iterdir():
        found = _TRAINING_FOLDER.match(folder.name)
        if found and folder.is_dir():
            pair = f"{found['coin']}/{stake}"
            times.setdefault(pair, []).append(datetime.fromtimestamp(int(found["ts"]), tz=UTC))
    return {p: sorted(t) for p, t in times.items()}


def paper_locks(db_url: str) -> pd.DataFrame:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("pairlocks"):
                return pd.DataFrame(columns=["pair", "lock_time", "lock_end_time"])
            frame = pd.read_sql(
                sa.text("SELECT pair, lock_time, lock_end_time FROM pairlocks"), conn
            )
    finally:
        engine.dispose()
    for col in ("lock_time", "lock_end_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def run_parity_backtest(run_dir: Path, replay: dict[str, Any], config: dict[str, Any]) -> Path:
    """Backtest the replayed bot's strategy and configs over the replay's range, FreqAI
    retraining on the live schedule (``backtest_period_days`` = ``live_retrain_hours``)."""
    from tribar.ftcli import run_freqtrade

    parity_dir = run_dir / "parity"
    parity_dir.mkdir(exist_ok=True)
    # One merged config: the bot's own files and the replay's layer, without the REST API
    # and Telegram (a backtest serves neither, and their secrets live only in the bot's env).
    backtest_config = {k: v for k, v in config.items() if k not in ("api_server", "telegram")}
    backtest_config["user_data_dir"] = str(parity_dir)
    freqai = dict(config.get("freqai") or {})
    if freqai.get("enabled"):
        hours = float(freqai.get("live_retrain_hours") or 24)
        backtest_config["freqai"] = {**freqai, "backtest_period_days": hours / 24}
    path = parity_dir / "parity-config.json"
    path.write_text(json.dumps(backtest_config, indent=2, default=str))
    start = datetime.fromisoformat(replay["start"])
    end = datetime.fromisoformat(replay["end"])
    results = parity_dir / "backtest_results"
    args = ["backtesting", "-c", str(path)]
    # Freqtrade takes the data folder from the command line only (a config key is ignored);
    # protections always act in a live bot, in backtests only when asked for.
    args += ["--datadir", replay["source_datadir"], "--enable-protections",
             "--timerange", f"{start:%Y%m%d}-{end:%Y%m%d}", "--export", "trades",
             "--backtest-directory", str(results), "--logfile", str(parity_dir / "backtest.log"),
             *replay.get("extra_args", [])]  # fmt: skip
    code = run_freqtrade(args)
    if code != 0:
        raise ReplayError(
            f"the parity backtest failed (exit {code}); see {parity_dir / 'backtest.log'}"
        )
    return results


def backtest_trades(results: Path) -> pd.DataFrame:
    from freqtrade.data.btanalysis import load_backtest_data

    frame = load_backtest_data(results)
    for col in ("open_date", "close_date"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def parity(run_dir: Path, tolerance_bps: float, profit_tolerance: float) -> tuple[
    list[TradeMatch], ParitySummary
]:  # fmt: skip
    from tribar.paper.report import load_paper_config

    overrides = json.loads((run_dir / "replay-overrides.json").read_text())
    replay = overrides.get("tribar", {}).get("replay")
    if not replay or "configs" not in replay:
        raise ReplayError(f"{run_dir}: replay-overrides.json has no tribar.replay.configs")
    config = load_paper_config(replay["configs"], run_dir)
    results = run_parity_backtest(run_dir, replay, config)
    backtest = backtest_trades(results)
    paper = load_trades(config["db_url"])
    stake = config["stake_currency"]
    identifier = (config.get("freqai") or {}).get("identifier", "")
    records = ParityRecords(
        cancelled_entries=cancelled_entries_from_log(run_dir / "freqtrade.log"),
        locks=paper_locks(config["db_url"]),
        live_trainings=training_times(run_dir / "models" / identifier, stake),
        backtest_trainings=training_times(run_dir / "parity" / "models" / identifier, stake),
    )
    matches = match_trades(
        paper, backtest, records, timeframe=config["timeframe"],
        tolerance_bps=tolerance_bps, profit_tolerance=profit_tolerance,
    )  # fmt: skip
    return matches, summarise(matches, paper, backtest)


def print_parity(
    matches: list[TradeMatch], summary: ParitySummary, console: Console | None = None
) -> None:
    console = console or Console()
    head = Table(title="Backtest vs paper", show_header=False)
    head.add_row(
        "paper trades / backtest trades", f"{summary.paper_trades} / {summary.backtest_trades}"
    )
    head.add_row("matched within tolerance", str(summary.matched))
    head.add_row("matched, deviating", str(summary.deviating))
    head.add_row("missed (backtest only)", str(summary.missed))
    head.add_row("extra (paper only)", str(summary.extra))
    head.add_row("median |entry deviation|", _bps(summary.median_abs_entry_bps))
    head.add_row("median |exit deviation|", _bps(summary.median_abs_exit_bps))
    head.add_row(
        "profit paper / backtest", f"{summary.paper_profit:+.2f} / {summary.backtest_profit:+.2f}"
    )
    head.add_row("causes", ", ".join(f"{k}: {v}" for k, v in sorted(summary.causes.items())) or "-")
    console.print(head)
    table = Table(title="Mismatches")
    for col in ("pair", "entry candle", "status", "cause", "entry Δ", "exit Δ", "profit Δ"):
        table.add_column(col)
    for m in matches:
        if m.status == "matched":
            continue
        profit = "" if m.profit_deviation is None else f"{m.profit_deviation:+.3f}"
        table.add_row(m.pair, f"{m.entry_candle:%Y-%m-%d %H:%M}", m.status, m.cause or "",
                      _bps(m.entry_deviation_bps), _bps(m.exit_deviation_bps), profit)  # fmt: skip
    console.print(table)


def _bps(value: float | None) -> str:
    return f"{value:+.1f} bps" if value is not None else "n/a"
