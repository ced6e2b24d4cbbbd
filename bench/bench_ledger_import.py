"""Import throughput into a real PostgreSQL (started here, loopback only).

Same run, same rows: row-by-row ORM inserts (baseline) vs SQLAlchemy's batched executemany
upsert vs the importer's COPY path, plus the whole ``import_backtest`` pipeline (read a
Freqtrade-format result file, validate, COPY). Target: >= 20,000 trades/s.

    .venv/bin/python bench/bench_ledger_import.py [--trades 100000] [--baseline 5000] [--write-md]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_ledger_common import write_section
from sqlalchemy.orm import Session, registry

from tribar.analysis.ledger.bulk import write_rows
from tribar.analysis.ledger.db import create_ledger_engine, upsert_rows
from tribar.analysis.ledger.importers import import_backtest
from tribar.analysis.ledger.migrate import downgrade, upgrade
from tribar.analysis.ledger.schema import trades
from tribar.analysis.ledger.trade_rows import RowContext, TradeFacts, build_row, facts_from_backtest
from tribar.testing.postgres import PostgresServer

PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "DOGE/USDT")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CTX = RowContext(source="backtest", dry_run=True, bot_name="bench", exchange="binance",
                 strategy="Bench", stake_currency="USDT")  # fmt: skip


def backtest_trade(i: int, rng: random.Random) -> dict[str, Any]:
    """One trade as Freqtrade writes it into a backtest result."""
    entry = rng.uniform(0.1, 50_000)
    exit_ = entry * rng.uniform(0.95, 1.05)
    amount = 1000 / entry
    opened = T0 + timedelta(minutes=7 * i)
    closed = opened + timedelta(minutes=rng.randint(60, 1440))
    gross = (exit_ - entry) * amount
    net = gross - (entry + exit_) * amount * 0.001
    ms = int(opened.timestamp() * 1000)
    ms_close = int(closed.timestamp() * 1000)
    return {
        "pair": PAIRS[i % len(PAIRS)], "stake_amount": 1000.0, "amount": amount,
        "open_date": opened.isoformat(sep=" "), "close_date": closed.isoformat(sep=" "),
        "open_rate": entry, "close_rate": exit_, "fee_open": 0.001, "fee_close": 0.001,
        "profit_ratio": net / 1000, "profit_abs": net,
        "exit_reason": rng.choice(["roi", "stop_loss", "exit_signal", "take_profit"]),
        "is_open": False, "is_short": False, "open_timestamp": ms, "close_timestamp": ms_close,
        "orders": [
            {"amount": amount, "safe_price": entry, "ft_order_side": "buy",
             "order_filled_timestamp": ms, "ft_is_entry": True, "cost": entry * amount},
            {"amount": amount, "safe_price": exit_, "ft_order_side": "sell",
             "order_filled_timestamp": ms_close, "ft_is_entry": False, "cost": exit_ * amount},
        ],
    }  # fmt: skip


def facts_of(i: int, t: dict[str, Any]) -> TradeFacts:
    return facts_from_backtest(t, f"bench:{i}", "Bench")


def write_backtest_zip(path: Path, bt_trades: list[dict[str, Any]]) -> Path:
    """A result file in Freqtrade 2026.9's layout (zip holding <name>.json + meta file)."""
    name = "backtest-result-bench"
    zip_path = path / f"{name}.zip"
    result = {"strategy": {"Bench": {"trades": bt_trades, "stake_currency": "USDT"}},
              "strategy_comparison": []}  # fmt: skip
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{name}.json", json.dumps(result))
        z.writestr(f"{name}_config.json", json.dumps({"exchange": {"name": "binance"}}))
    (path / f"{name}.meta.json").write_text(json.dumps({"Bench": {"run_id": "bench-run"}}))
    return zip_path


def reset(url: str) -> None:
    downgrade(url, "base")
    upgrade(url)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: PostgreSQL's own work is not in it)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - started, time.process_time() - started_cpu


class OrmTrade:
    """Imperatively mapped to ``trades`` for the row-by-row ORM baseline."""


def orm_row_by_row(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        for row in rows:
            session.add(OrmTrade(**row))
            session.flush()  # one INSERT round trip per trade, as a naive recorder would do
        session.commit()


def executemany_upsert(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            upsert_rows(conn, rows[start : start + 5000], on_conflict="ignore")


def copy_import(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        result = write_rows(conn, rows)
    assert result.written == len(rows), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=5_000,
                        help="rows for the slow row-by-row ORM baseline")  # fmt: skip
    parser.add_argument(
        "--executemany", type=int, default=20_000, help="rows for the executemany variant"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (best is kept)")
    parser.add_argument("--write-md", action="store_true", help="write docs/_bench_ledger.md")
    args = parser.parse_args()

    registry().map_imperatively(OrmTrade, trades)
    # Freqtrade's result loader imports ccxt & co. (seconds, once per process): not import work.
    import freqtrade.data.btanalysis  # noqa: F401

    rng = random.Random(42)
    bt = [backtest_trade(i, rng) for i in range(args.trades)]
    started = time.perf_counter()
    rows = [build_row(facts_of(i, t), CTX) for i, t in enumerate(bt)]
    build_s = time.perf_counter() - started

    results: list[tuple[str, int, float, float]] = []
    with PostgresServer() as pg, tempfile.TemporaryDirectory() as tmp:
        url = pg.url
        upgrade(url)
        engine = create_ledger_engine(url)

        def best(label: str, n: int, fn: Callable[[], object]) -> None:
            runs = []
            for _ in range(args.repeat):
                reset(url)
                runs.append(timed(fn))
            wall, cpu = min(runs)
            results.append((label, n, wall, cpu))
            print(f"  {label}: {n / wall:,.0f} trades/s (runs: "
                  f"{', '.join(f'{w:.2f}s' for w, _ in runs)})", flush=True)  # fmt: skip

        base_rows = rows[: args.baseline]
        print(f"PostgreSQL {pg.port}, {args.trades:,} trades", flush=True)
        best("row-by-row ORM insert (baseline)", len(base_rows),
             lambda: orm_row_by_row(engine, base_rows))  # fmt: skip
        many_rows = rows[: args.executemany]
        best("SQLAlchemy executemany upsert (batches of 5,000)", len(many_rows),
             lambda: executemany_upsert(engine, many_rows))  # fmt: skip
        best("COPY + INSERT…ON CONFLICT (importer)", len(rows), lambda: copy_import(engine, rows))
        zip_path = write_backtest_zip(Path(tmp), bt)

        def pipeline() -> None:
            [summary] = import_backtest(engine, zip_path)
            assert summary.written == len(bt), summary.line()

        best("import_backtest end to end (read+validate+COPY)", len(bt), pipeline)
        engine.dispose()

    base_rate = results[0][1] / results[0][2]
    lines = [
        "| method | trades | wall s | trades/s | vs baseline | client CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, n, wall, cpu in results:
        rate = n / wall
        lines.append(
            f"| {label} | {n:,} | {wall:.2f} | {rate:,.0f} | {rate / base_rate:.1f}x | {cpu:.2f} |"
        )
    lines.append(f"| (row building + validation alone, no DB) | {len(rows):,} | {build_s:.2f} | "
                 f"{len(rows) / build_s:,.0f} | | |")  # fmt: skip
    table = "\n".join(lines)
    print()
    print(table)
    if args.write_md:
        command = (
            f".venv/bin/python bench/bench_ledger_import.py --trades {args.trades} "
            f"--baseline {args.baseline} --executemany {args.executemany} --repeat {args.repeat}"
        )
        note = (
            "Best of the runs per method; each run starts from an empty, freshly migrated "
            "`trades` table (indexes and CHECKs in place). Baseline: one ORM `INSERT` per "
            "trade (`session.add` + `flush`), one commit. Client CPU: this Python process "
            "only (PostgreSQL's work runs in its own processes).\n\n"
        )
        print(f"wrote {write_section('import', command, note + table)}")


if __name__ == "__main__":
    main()
