"""The mirror's cost on the bot thread per closed trade (target < 1 ms), against a real
PostgreSQL ledger (started here, loopback only).

Trades are real Freqtrade ``Trade`` objects in a SQLite trades DB with the strategy's custom
data, closed by Freqtrade's own ``update_trade``. Each variant handles the same trades:

* ``TradeMirror.record_trade`` (outbox synchronous=NORMAL, the default, and FULL);
* baseline: build the row and upsert it into PostgreSQL synchronously on the bot thread.

    .venv/bin/python bench/bench_ledger_mirror.py [--trades 1000] [--write-md]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_ledger_common import write_section

from tribar.analysis.ledger.db import create_ledger_engine, upsert_rows
from tribar.analysis.ledger.migrate import downgrade, upgrade
from tribar.analysis.ledger.mirror import TradeMirror
from tribar.analysis.ledger.outbox import Synchronous
from tribar.analysis.ledger.trade_rows import RowContext, build_row, facts_from_trade
from tribar.testing.postgres import PostgresServer

CTX = RowContext(source="dry_run", dry_run=True, bot_name="bench", config_hash="0" * 64)
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")


def make_closed_trades(n: int, db_path: Path) -> list[Any]:
    """``n`` closed Freqtrade trades (entry + exit order, custom data) in a SQLite trades DB."""
    from freqtrade.enums import TradingMode
    from freqtrade.persistence import Order, Trade, init_db

    init_db(f"sqlite:///{db_path}")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    made = []
    for i in range(n):
        pair = PAIRS[i % len(PAIRS)]
        opened = t0 + timedelta(minutes=30 * i)
        rate = 100.0 + i % 50
        trade = Trade(
            pair=pair, exchange="binance", stake_amount=100.0, amount=100.0 / rate,
            open_rate=rate, open_rate_requested=rate * 0.9999, fee_open=0.001, fee_close=0.001,
            open_date=opened, is_open=True, strategy="TripleBarrierML", stake_currency="USDT",
            leverage=1.0, trading_mode=TradingMode.SPOT,
        )  # fmt: skip
        Trade.session.add(trade)
        Trade.session.flush()
        for side, price, at in (
            ("buy", rate, opened),
            ("sell", rate * 1.01, opened + timedelta(hours=4)),
        ):
            order = Order(
                ft_order_side=side, ft_pair=pair, ft_is_open=False, ft_amount=trade.amount,
                ft_price=price, order_id=f"dry_run_{side}_{pair}_{i}", status="closed",
                symbol=pair, order_type="market", side=side, price=price, average=price,
                amount=trade.amount, filled=trade.amount, remaining=0.0,
                cost=price * trade.amount, order_date=at,
                order_filled_date=at + timedelta(milliseconds=300),
            )  # fmt: skip
            trade.orders.append(order)
            if side == "buy":
                trade.update_trade(order)
                trade.set_custom_data("tribar_p_tp", 0.5 + (i % 40) / 100)
                trade.set_custom_data("tribar_atr", rate * 0.012)
            else:
                trade.exit_reason = "take_profit"
                trade.close_rate_requested = price
                trade.update_trade(order)
        made.append(trade)
    Trade.commit()
    return made


def percentiles(samples: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1], statistics.fmean(ordered)


def time_calls(
    trades: list[Any], call: Callable[[Any], object], after: Callable[[], object] | None = None
) -> tuple[list[float], list[float]]:
    """Wall and CPU (this thread's) seconds of ``call(trade)`` per trade, in the state Freqtrade
    calls ``order_filled`` in: the trade was just committed (expired) and Freqtrade read
    ``trade.pair`` for the arguments."""
    from freqtrade.persistence import Trade

    wall, cpu = [], []
    for t in trades:
        Trade.session.expire(t)
        _ = t.pair
        started, started_cpu = time.perf_counter(), time.thread_time()
        call(t)
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        if after is not None:
            after()
    return wall, cpu


def count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT COUNT(*) FROM trades")).scalar_one())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--write-md", action="store_true", help="write docs/_bench_ledger.md")
    args = parser.parse_args()

    results: list[tuple[str, tuple[list[float], list[float]], str]] = []
    with PostgresServer() as pg, tempfile.TemporaryDirectory() as tmp:
        trades = make_closed_trades(args.trades, Path(tmp) / "tradesv3.sqlite")
        upgrade(pg.url)

        variants: list[tuple[str, Synchronous, bool]] = [
            ("spaced: delivery idle between trades (live trading)", "NORMAL", True),
            ("spaced, outbox synchronous=FULL", "FULL", True),
            (f"burst: {len(trades)} back-to-back, delivery running", "NORMAL", False),
        ]
        for i, (label, sync, spaced) in enumerate(variants):
            downgrade(pg.url, "base")
            upgrade(pg.url)
            mirror = TradeMirror(
                pg.url, Path(tmp) / f"outbox-{i}.sqlite", CTX, synchronous=sync, poll_interval=0.01
            )
            settle = (lambda m=mirror: m.flush(timeout=30)) if spaced else None
            samples = time_calls(trades, mirror.record_trade, settle)
            started = time.perf_counter()
            delivered = mirror.flush(timeout=120)
            drain = time.perf_counter() - started
            mirror.close()
            assert delivered and count(pg.url) == len(trades), "mirror lost trades"
            note = "" if spaced else f"all in PostgreSQL {drain:.2f}s after the last call"
            results.append((f"TradeMirror.record_trade, {label}", samples, note))

        downgrade(pg.url, "base")
        upgrade(pg.url)
        engine = create_ledger_engine(pg.url)

        def direct(trade: Any) -> None:
            row = build_row(facts_from_trade(trade), CTX)
            with engine.begin() as conn:
                upsert_rows(conn, [row])

        samples = time_calls(trades, direct)
        engine.dispose()
        assert count(pg.url) == len(trades)
        results.append(
            ("baseline: synchronous upsert into PostgreSQL", samples, "waits for the DB")
        )

    lines = [
        "| on the bot thread, per closed trade | wall median ms | wall p99 ms | wall max ms "
        "| CPU median ms | CPU p99 ms | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, (wall, cpu), note in results:
        med, p99, worst, _ = (1e3 * v for v in percentiles(wall))
        cmed, cp99, _, _ = (1e3 * v for v in percentiles(cpu))
        lines.append(
            f"| {label} | {med:.3f} | {p99:.2f} | {worst:.1f} | {cmed:.3f} | {cp99:.3f} | {note} |"
        )
    base_med = statistics.median(results[-1][1][0])
    mirror_med = statistics.median(results[0][1][0])
    import gc

    gc_note = f"gc thresholds {gc.get_threshold()}"
    table = "\n".join(lines)
    print(table)
    print(f"\nbaseline / mirror median: {base_med / mirror_med:.1f}x")
    if args.write_md:
        note = (
            f"{args.trades} real Freqtrade `Trade` objects (SQLite trades DB, custom data "
            "`tribar_p_tp`/`tribar_atr`), each recorded once per variant. The mirror's time "
            "covers reading the trade and its custom data, building and validating the row, "
            "and the durable outbox append; delivery runs on its own thread. "
            f"Baseline/mirror wall-median ratio: {base_med / mirror_med:.1f}x. Wall p99/max "
            f"include preemption by other jobs on the shared cores ({gc_note}); the CPU "
            "columns (`time.thread_time`) are the bot thread's own work.\n\n"
        )
        command = f".venv/bin/python bench/bench_ledger_mirror.py --trades {args.trades}"
        print(f"wrote {write_section('mirror', command, note + table)}")


if __name__ == "__main__":
    main()
