"""Cost of the tribar Prometheus exporter (run: .venv/bin/python bench/bench_exporter.py).

1. One scrape (``generate_latest`` of the bot's registry) after 50 pairs traded 10,000 closed
   trades (3 exit reasons each, every per-pair series set). Goal < 50 ms.
2. What ``BotMonitor`` adds to one bot-loop iteration: loop timing, account (5 open positions),
   breaker snapshot, 50 pairs' model state, ledger counts, with plain values. Goal < 1 ms.
   Reading those values from Freqtrade (trades query, wallet) is the strategy's adapter and is
   not included.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime

from prometheus_client import generate_latest

from tribar.monitoring.monitor import BotMonitor, ModelState

PAIRS = [f"C{i:02d}/USDT" for i in range(50)]
EXITS = ("roi", "stop_loss", "timeout")
TRADES = 10_000


def _machine() -> str:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln), ""
        )
    except OSError:
        pass
    return f"{platform.machine()}, {model or 'unknown CPU'}, nproc {os.cpu_count()}"


def _loaded_monitor() -> BotMonitor:
    m = BotMonitor(refusal_codes=("circuit_breaker", "max_trades_per_hour", "min_stake"))
    m.set_identity("TripleBarrierML", "1.0.0", True)
    m.set_retrain_interval(168)
    for i in range(TRADES):
        pair = PAIRS[i % len(PAIRS)]
        m.trade_closed(pair, EXITS[i % 3], (i % 21) - 10.0, (i % 100) / 100)
        m.order_filled(0.2 + (i % 7), (i % 11) - 5.0, (i % 100) / 100)
        m.order_filled(0.3)
    for pair in PAIRS:
        m.candle_processed(pair)
        m.update_model(pair, ModelState(True, 0.55), 1.75e9)
    return m


def _median_ms(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    m = _loaded_monitor()
    body = generate_latest(m.metrics.registry)
    scrape_ms = _median_ms(lambda: generate_latest(m.metrics.registry), 200)

    snapshot = {
        "state": "halted",
        "reason": "realised loss today 4.10 reached max_daily_loss_usd 4",
        "halts": [{"key": "daily_loss", "reason": "…", "since": None, "until": None}],
    }
    positions = {pair: 40.0 + i for i, pair in enumerate(PAIRS[:5])}
    state = ModelState(True, 0.55)

    def one_loop() -> None:
        m.loop_started()
        m.update_account(985.0, 1000.0, 5, positions)
        m.update_breaker(snapshot)
        for pair in PAIRS:
            m.update_model(pair, state, 1.75e9)
        m.update_ledger(0, 0)

    loop_ms = _median_ms(one_loop, 2000)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"date: {now}; machine: {_machine()}; load average {os.getloadavg()[0]:.1f}")
    lines = body.count(b"\n")
    print(f"scrape body: {len(body) / 1024:.0f} KiB, {lines} lines")
    print("| measure | median | goal | met |")
    print("|---|---:|---:|---|")
    print(
        f"| one scrape, 50 pairs, {TRADES:,} closed trades | {scrape_ms:.2f} ms | < 50 ms "
        f"| {'yes' if scrape_ms < 50 else 'no'} |"
    )
    print(
        f"| BotMonitor per bot-loop iteration (50 pairs) | {loop_ms * 1e3:.0f} µs | < 1 ms "
        f"| {'yes' if loop_ms < 1 else 'no'} |"
    )


if __name__ == "__main__":
    main()
