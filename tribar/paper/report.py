"""``tribar paper report``: the acceptance report of a paper-trading run, from the bot's own
records — its trades database, the ledger, its heartbeats and FreqAI's model folder — so it
reads a real dry-run against the exchange exactly as it reads a replay."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from tribar.paper.acceptance import (
    AcceptanceResult,
    AcceptanceThresholds,
    judge,
    slippage_vs_signal_bps,
)
from tribar.paper.errors import ReplayError
from tribar.paper.heartbeat import HEARTBEAT_FILE, read_heartbeats, uptime

# Freqtrade's trades columns the report reads; a DB without them is not a Freqtrade trades DB.
_TRADE_COLUMNS = ("id", "pair", "is_open", "open_date", "close_date", "open_rate",
                  "close_rate", "close_profit_abs", "exit_reason", "exchange")  # fmt: skip


@dataclass(frozen=True)
class PaperRun:
    """Where a paper-trading run's records are."""

    db_url: str
    user_data: Path
    ledger_url: str
    candle_dir: Path | None
    timeframe: str
    starting_balance: float
    throttle_seconds: float
    identifier: str | None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PaperRun:
        from tribar.analysis.ledger.url import resolve_ledger_url

        replay = (config.get("tribar") or {}).get("replay") or {}
        user_data = Path(config.get("user_data_dir", "user_data"))
        exchange = config.get("exchange", {}).get("name", "binance")
        candle_dir = replay.get("source_datadir") or config.get("datadir")
        return cls(
            db_url=config.get("db_url") or "sqlite:///tradesv3.dryrun.sqlite",
            user_data=user_data,
            ledger_url=resolve_ledger_url(None, config),
            candle_dir=Path(candle_dir) if candle_dir else user_data / "data" / exchange,
            timeframe=config.get("timeframe", "1h"),
            starting_balance=float(config.get("dry_run_wallet", 1000)),
            throttle_seconds=float(config.get("internals", {}).get("process_throttle_secs", 5)),
            identifier=(config.get("freqai") or {}).get("identifier"),
            start=datetime.fromisoformat(replay["start"]) if replay.get("start") else None,
            end=datetime.fromisoformat(replay["end"]) if replay.get("end") else None,
        )


def load_paper_config(configs: list[str] | None, run_dir: Path | None) -> dict[str, Any]:
    """The run's merged config: a replay folder's own layer over the configs it was run with."""
    from freqtrade.configuration.load_config import load_from_files

    files = list(configs or ["config.json"])
    if run_dir is not None:
        overrides = run_dir / "replay-overrides.json"
        if not overrides.is_file():
            raise ReplayError(f"{run_dir} is not a replay folder (no replay-overrides.json)")
        files.append(str(overrides))
    return load_from_files(files)


def load_trades(db_url: str) -> pd.DataFrame:
    """All trades of a Freqtrade trades DB, read with plain SQL (never migrated or locked)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("trades")}
            missing = [c for c in _TRADE_COLUMNS if c not in columns]
            if missing:
                raise ReplayError(
                    f"{db_url} has a trades table without {', '.join(missing)}: "
                    "not a Freqtrade trades database"
                )
            frame = pd.read_sql(sa.text(f"SELECT {', '.join(_TRADE_COLUMNS)} FROM trades"), conn)
    except sa.exc.NoSuchTableError:
        raise ReplayError(
            f"{db_url} has no trades table: not a Freqtrade trades database"
        ) from None
    except sa.exc.OperationalError as exc:
        raise ReplayError(f"cannot read the trades database {db_url}: {exc.orig}") from None
    finally:
        engine.dispose()
    for col in ("open_date", "close_date"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.rename(columns={"close_profit_abs": "profit_abs"})


def ledger_latencies(ledger_url: str, trade_ids: list[str]) -> pd.Series:
    """``order_latency_ms`` of these trades in the ledger (missing ones are simply absent)."""
    if not trade_ids:
        return pd.Series(dtype=float)
    engine = sa.create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("trades"):
                return pd.Series(dtype=float)
            rows = conn.execute(
                sa.text("SELECT order_latency_ms FROM trades WHERE trade_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": trade_ids},
            ).all()
    finally:
        engine.dispose()
    return pd.Series([r[0] for r in rows], dtype=float).dropna()


def signal_closes(trades: pd.DataFrame, candle_dir: Path | None, timeframe: str) -> pd.Series:
    """Close of each trade's signal candle: the last candle closed before the entry."""
    from freqtrade.data.history import get_datahandler
    from freqtrade.enums import CandleType
    from freqtrade.exchange import timeframe_to_prev_date, timeframe_to_seconds

    closes = pd.Series(np.nan, index=trades.index)
    if candle_dir is None or not candle_dir.is_dir() or trades.empty:
        return closes
    handler = get_datahandler(candle_dir, "feather")
    for pair, group in trades.groupby("pair"):
        candles = handler.ohlcv_load(
            str(pair), timeframe, timerange=None, candle_type=CandleType.SPOT, warn_no_data=False
        )
        if candles.empty:
            continue
        by_open = candles.set_index("date")["close"]
        for index, opened in group["open_date"].items():
            signal_open = timeframe_to_prev_date(timeframe, opened.to_pydatetime()) - timedelta(
                seconds=timeframe_to_seconds(timeframe)
            )
            stamp = pd.Timestamp(signal_open)
            if stamp in by_open.index:
                closes[index] = float(by_open[stamp])
    return closes


def acceptance_report(run: PaperRun, thresholds: AcceptanceThresholds) -> AcceptanceResult:
    from tribar.analysis.ledger.trade_rows import live_trade_id
    from tribar.ml.model_metrics import edge_gate_openings

    trades = load_trades(run.db_url)
    closed = trades[~trades["is_open"].astype(bool)].copy()
    beats = read_heartbeats(run.user_data / HEARTBEAT_FILE)
    start = run.start or (beats[0] if beats else _first(trades["open_date"]))
    end = run.end or (beats[-1] if beats else datetime.now(UTC))
    allowed_gap = timedelta(seconds=max(300.0, 2 * run.throttle_seconds))
    up = uptime(beats, start, end, allowed_gap) if beats else None
    ids = [
        live_trade_id(t.exchange, t.pair, int(t.id), t.open_date.to_pydatetime())
        for t in closed.itertuples()
    ]
    latencies = ledger_latencies(run.ledger_url, ids)
    slippage = slippage_vs_signal_bps(closed, signal_closes(closed, run.candle_dir, run.timeframe))
    gate = edge_gate_openings(run.user_data / "models" / run.identifier) if run.identifier else None
    return judge(
        closed,
        start=start,
        end=end,
        starting_balance=run.starting_balance,
        open_trades=int(trades["is_open"].astype(bool).sum()),
        uptime=up,
        latency_p95_ms=float(np.percentile(latencies, 95)) if len(latencies) else None,
        slippage_bps=slippage,
        edge_gate=gate,
        thresholds=thresholds,
    )


def _first(dates: pd.Series) -> datetime:
    if dates.empty:
        raise ReplayError("no trades and no heartbeats: nothing to report on")
    return dates.min().to_pydatetime()


# --- rendering -----------------------------------------------------------------------------


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or np.isnan(value):
        return "n/a"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:.3f}"


def print_report(result: AcceptanceResult, console: Console | None = None) -> None:
    console = console or Console()
    f = result.figures
    table = Table(
        title=f"Paper-trading acceptance, {f.start:%Y-%m-%d %H:%M} .. {f.end:%Y-%m-%d %H:%M} UTC"
    )
    for column in ("criterion", "value", "threshold", "result"):
        table.add_column(column)
    for c in result.criteria:
        mark = {True: "[green]pass[/green]", False: "[red]fail[/red]", None: "[yellow]n/a[/yellow]"}
        table.add_row(c.name, _fmt(c.value, c.unit), f"{c.direction} {_fmt(c.threshold, c.unit)}",
                      mark[c.passed])  # fmt: skip
    console.print(table)
    facts = Table(show_header=False, title="Figures")
    for name, value in figure_rows(result):
        facts.add_row(name, value)
    console.print(facts)
    colour = {"GO": "green", "NO-GO": "red", "TOO SHORT": "yellow"}[result.verdict]
    console.print(f"[bold {colour}]{result.verdict}[/bold {colour}]: {result.reason}")


def figure_rows(result: AcceptanceResult) -> list[tuple[str, str]]:
    f = result.figures
    gate = (
        f"{_fmt(f.edge_gate_open_share, '%')} of {f.edge_gate_trainings} trainings"
        if f.edge_gate_trainings
        else "n/a (no gated trainings)"
    )
    return [
        ("closed trades", str(f.closed_trades)),
        ("open trades", str(f.open_trades)),
        ("total profit", f"{f.total_profit:+.2f}"),
        ("profit factor", _fmt(f.profit_factor)),
        ("avg win / avg loss", f"{_fmt(f.avg_win)} / {_fmt(f.avg_loss)}"),
        ("trades per week", f"{f.trades_per_week:.1f}"),
        ("slippage vs signal close (mean, p95)",
         f"{_fmt(f.slippage_vs_signal_bps_mean)} / {_fmt(f.slippage_vs_signal_bps_p95)} bps"),
        ("edge gate open", gate),
    ]  # fmt: skip


def write_html(result: AcceptanceResult, trades: pd.DataFrame, starting_balance: float,
               path: Path) -> Path:  # fmt: skip
    """A self-contained page: verdict, criteria, figures and the equity curve (plotly, inline)."""
    import plotly.graph_objects as go

    closed = trades[~trades["is_open"].astype(bool)].sort_values("close_date")
    equity = starting_balance + closed["profit_abs"].cumsum()
    fig = go.Figure(go.Scatter(x=closed["close_date"], y=equity, mode="lines+markers",
                               name="equity (closed trades)"))  # fmt: skip
    fig.update_layout(title="Equity", yaxis_title="stake currency", height=420)
    rows = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{_fmt(c.value, c.unit)}</td>"
        f"<td>{c.direction} {_fmt(c.threshold, c.unit)}</td>"
        f"<td class='{'pass' if c.passed else 'fail'}'>"
        f"{ {True: 'pass', False: 'fail', None: 'n/a'}[c.passed] }</td></tr>"
        for c in result.criteria
    )
    facts = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(v)}</td></tr>"
                    for n, v in figure_rows(result))  # fmt: skip
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>tribar paper-trading acceptance</title>
<style>body{{font-family:sans-serif;margin:2em}}
td,th{{padding:4px 12px;border-bottom:1px solid #ddd}}
.pass{{color:#080}} .fail{{color:#b00}} .verdict{{font-size:1.6em;font-weight:bold}}</style></head>
<body><h1>Paper-trading acceptance</h1>
<p>{result.figures.start:%Y-%m-%d %H:%M} .. {result.figures.end:%Y-%m-%d %H:%M} UTC</p>
<p class="verdict">{html.escape(result.verdict)}</p><p>{html.escape(result.reason)}</p>
<table><tr><th>criterion</th><th>value</th><th>threshold</th><th>result</th></tr>{rows}</table>
<h2>Figures</h2><table>{facts}</table>
{fig.to_html(full_html=False, include_plotlyjs=True)}
</body></html>"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def result_as_dict(result: AcceptanceResult) -> dict[str, Any]:
    return json.loads(json.dumps({
        "verdict": result.verdict,
        "reason": result.reason,
        "criteria": [{"name": c.name, "value": c.value, "threshold": c.threshold,
                      "direction": c.direction, "passed": c.passed} for c in result.criteria],
        "figures": {k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in result.figures.__dict__.items()},
    }, default=float))  # fmt: skip
