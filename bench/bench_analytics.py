"""Each ledger analytics query over 1,000,000 synthetic trades on a real PostgreSQL.

Target: every query under 1 s. Baseline, in the same run: the same figure computed the naive
way, fetching the needed columns of every selected row into pandas (``pd.read_sql``, NUMERIC
cast to double in SQL so the baseline is not slowed by Decimals) and computing there. Each
baseline answer is compared with the query's, so the table also shows they agree at scale.

    .venv/bin/python bench/bench_analytics.py [--trades 1000000] [--repeat 3] [--no-write]

Writes docs/_bench_analytics.md (date, machine, numbers) unless --no-write.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tribar.analysis import analytics as an
from tribar.analysis.analytics.sqlfuncs import expression_statistics_ddl
from tribar.analysis.analytics.synthetic import make_trades
from tribar.analysis.ledger.schema import TRADE_COLUMNS, metadata, trades
from tribar.testing.postgres import PostgresServer

REPO_ROOT = Path(__file__).resolve().parent.parent
MD_PATH = REPO_ROOT / "docs" / "_bench_analytics.md"
TARGET_S = 1.0
STATS_CASES = ("by_hour", "by_weekday", "hour_weekday_matrix", "confidence_buckets")
BALANCE = 1000.0
_T = trades.c


# --- machine -----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


# --- loading -----------------------------------------------------------------------------------


def load(engine: sa.Engine, frame: pd.DataFrame) -> float:
    """COPY the frame in; indexes built after the load (as a bulk import would), then ANALYZE."""
    started = time.perf_counter()
    metadata.create_all(engine)
    with engine.begin() as conn:
        for index in trades.indexes:
            conn.execute(sa.schema.DropIndex(index))
    buf = io.StringIO()
    frame[list(TRADE_COLUMNS)].to_csv(buf, index=False, header=False)
    buf.seek(0)
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.copy_expert(
                f"COPY trades ({', '.join(TRADE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buf
            )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for index in trades.indexes:
            conn.execute(sa.schema.CreateIndex(index))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE trades"))
    return time.perf_counter() - started


# --- baselines: fetch every row's columns into pandas, compute there ---------------------------


def fetch(engine: sa.Engine, flt: an.TradeFilter, **columns: Any) -> pd.DataFrame:
    cols = [
        sa.cast(c, sa.Float).label(n) if isinstance(c.type, sa.Numeric) else c.label(n)
        for n, c in columns.items()
    ]
    with engine.connect() as conn:
        frame = pd.read_sql(sa.select(*cols).where(flt.clause()), conn)
    if "ts" in frame:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def groups(frame: pd.DataFrame, key: Any) -> pd.DataFrame:
    net = frame["net"]
    return (
        pd.DataFrame({"trades": 1, "wins": (net > 0).astype(int), "net": net}, index=frame.index)
        .groupby(key)
        .sum()
    )


def base_summary(engine: sa.Engine, flt: an.TradeFilter) -> tuple[int, float, float]:
    f = fetch(engine, flt, ts=_T.timestamp, id=_T.id, net=_T.net_pnl).sort_values(["ts", "id"])
    cum = f["net"].cumsum().to_numpy()
    peak = np.maximum.accumulate(np.maximum(cum, 0))
    return len(f), float(f["net"].sum()), float((peak - cum).max())


def base_hour(engine: sa.Engine, flt: an.TradeFilter) -> pd.DataFrame:
    f = fetch(engine, flt, ts=_T.timestamp, net=_T.net_pnl)
    return groups(f, f["ts"].dt.hour)


def base_weekday(engine: sa.Engine, flt: an.TradeFilter) -> pd.DataFrame:
    f = fetch(engine, flt, ts=_T.timestamp, net=_T.net_pnl)
    return groups(f, f["ts"].dt.day_of_week)


def base_matrix(engine: sa.Engine, flt: an.TradeFilter) -> pd.DataFrame:
    f = fetch(engine, flt, ts=_T.timestamp, net=_T.net_pnl)
    return groups(f, [f["ts"].dt.day_of_week, f["ts"].dt.hour])


def base_pair(engine: sa.Engine, flt: an.TradeFilter) -> pd.DataFrame:
    f = fetch(engine, flt, pair=_T.symbol, net=_T.net_pnl)
    return groups(f, f["pair"])


def base_confidence(engine: sa.Engine, flt: an.TradeFilter) -> pd.DataFrame:
    f = fetch(engine, flt, conf=_T.model_confidence, net=_T.net_pnl).dropna(subset=["conf"])
    return groups(f, np.minimum(np.floor(f["conf"] * 10), 9))


def base_execution(engine: sa.Engine, flt: an.TradeFilter) -> list[float]:
    f = fetch(engine, flt, slip=_T.slippage_bps, lat=_T.order_latency_ms)
    return [float(f[c].dropna().quantile(q)) for c in ("slip", "lat") for q in (0.5, 0.9, 0.99)]


def base_equity(engine: sa.Engine, flt: an.TradeFilter) -> np.ndarray:
    f = fetch(engine, flt, ts=_T.timestamp, id=_T.id, net=_T.net_pnl).sort_values(["ts", "id"])
    return BALANCE + f["net"].cumsum().to_numpy()


# --- agreement checks --------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def agree_summary(q: an.LedgerSummary, b: tuple[int, float, float]) -> bool:
    return q.trades == b[0] and _close(q.net_pnl, b[1]) and _close(q.max_drawdown, b[2])


def agree_groups(q: pd.DataFrame, b: pd.DataFrame) -> bool:
    active = q[q["trades"] > 0]
    return (
        active["trades"].tolist() == b["trades"].tolist()
        and active["wins"].tolist() == b["wins"].tolist()
        and np.allclose(active["net_pnl"], b["net"], rtol=1e-9, atol=1e-6)
    )


def agree_matrix(q: an.HourWeekdayMatrix, b: pd.DataFrame) -> bool:
    flat = q.trades.stack()
    return flat[flat > 0].tolist() == b["trades"].tolist()


def agree_execution(q: an.ExecutionQuality, b: list[float]) -> bool:
    got = [v for d in (q.slippage_bps, q.order_latency_ms) for v in (d.p50, d.p90, d.p99)]
    return all(g is not None and _close(g, w) for g, w in zip(got, b, strict=True))


def agree_equity(q: pd.DataFrame, b: np.ndarray) -> bool:
    return len(q) == len(b) and np.allclose(q["balance"].to_numpy(), b, rtol=1e-9, atol=1e-6)


# --- running -----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    query: Callable[[sa.Engine, an.TradeFilter], Any]
    baseline: Callable[[sa.Engine, an.TradeFilter], Any]
    agree: Callable[[Any, Any], bool]


CASES = [
    Case("summary", lambda e, f: an.summary(e, f, BALANCE), base_summary, agree_summary),
    Case("by_hour", an.by_hour, base_hour, agree_groups),
    Case("by_weekday", an.by_weekday, base_weekday, agree_groups),
    Case("hour_weekday_matrix", an.hour_weekday_matrix, base_matrix, agree_matrix),
    Case("by_pair", lambda e, f: an.by_pair(e, f).sort_index(), base_pair, agree_groups),
    Case(
        "confidence_buckets",
        lambda e, f: an.confidence_buckets(e, f).frame,
        base_confidence,
        agree_groups,
    ),
    Case("execution_quality", an.execution_quality, base_execution, agree_execution),
    Case("equity_curve", lambda e, f: an.equity_curve(e, f, BALANCE), base_equity, agree_equity),
]


@dataclass
class Result:
    name: str
    best: float
    median: float
    baseline: float
    agree: bool


def run(
    engine: sa.Engine,
    flt: an.TradeFilter,
    repeat: int,
    cases: list[Case] = CASES,
    with_baseline: bool = True,
) -> list[Result]:
    results = []
    for case in cases:
        answer = case.query(engine, flt)  # warm-up: imports, plan and page caches
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = case.query(engine, flt)
            times.append(time.perf_counter() - started)
        baseline, agree = math.nan, True
        if with_baseline:
            started = time.perf_counter()
            expected = case.baseline(engine, flt)
            baseline = time.perf_counter() - started
            agree = case.agree(answer, expected)
        result = Result(case.name, min(times), statistics.median(times), baseline, agree)
        print(
            f"{result.name:22s} best {result.best:6.3f}s  median {result.median:6.3f}s  "
            f"{'PASS' if result.best < TARGET_S else 'FAIL'}  baseline {result.baseline:6.2f}s "
            f"({result.baseline / result.best:4.1f}x)  agree={result.agree}",
            flush=True,
        )
        results.append(result)
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| query | best (s) | median (s) | target | pass | pandas baseline (s) "
        "| baseline / query | same answer |",
        "|---|---:|---:|---:|:---:|---:|---:|:---:|",
    ]
    for r in results:
        measured = not math.isnan(r.baseline)
        lines.append(
            f"| `{r.name}` | {r.best:.3f} | {r.median:.3f} | < {TARGET_S:g} s | "
            f"{'pass' if r.best < TARGET_S else '**FAIL**'} | "
            f"{f'{r.baseline:.2f}' if measured else '-'} | "
            f"{f'{r.baseline / r.best:.1f}x' if measured else '-'} | "
            f"{('yes' if r.agree else '**NO**') if measured else '-'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (best counts)")
    parser.add_argument("--no-write", action="store_true", help="do not write the docs file")
    args = parser.parse_args()

    load_before = load_average()
    frame = make_trades(args.trades, seed=1, days=730)
    with PostgresServer() as pg:
        engine = sa.create_engine(pg.url)
        load_s = load(engine, frame)
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        print(f"loaded {args.trades:,} trades in {load_s:.1f}s (PostgreSQL {version})", flush=True)
        flt = an.TradeFilter()
        results = run(engine, flt, args.repeat)
        # The same queries with a selective filter: the shape of a typical interactive report.
        window = an.TradeFilter(
            start=datetime(2025, 7, 1, tzinfo=UTC), end=datetime(2025, 10, 1, tzinfo=UTC),
            pairs=("BTC/USDT", "ETH/USDT"), dry_run=False,
        )  # fmt: skip
        print("filtered: one quarter, two pairs, live only", flush=True)
        filtered = run(engine, window, args.repeat)
        with engine.connect() as conn:
            selected = conn.execute(
                sa.select(sa.func.count()).select_from(trades).where(window.clause())
            ).scalar_one()
        # What the expression statistics (migration 0002; create_all made them) change.
        with engine.begin() as conn:
            for name in statistics_names():
                conn.execute(sa.text(f"DROP STATISTICS {name}"))
            conn.execute(sa.text("ANALYZE trades"))
        print("without the expression statistics", flush=True)
        grouped = [c for c in CASES if c.name in STATS_CASES]
        without_stats = run(engine, flt, args.repeat, grouped, with_baseline=False)
        engine.dispose()
    load_after = load_average()

    command = "`.venv/bin/python bench/bench_analytics.py" + (
        f" --trades {args.trades}`" if args.trades != 1_000_000 else "`"
    )
    body = f"""## Ledger analytics benchmark

{datetime.now(UTC):%Y-%m-%d}, `uname -m` {platform.machine()}, {cpu_model()}, \
{os.cpu_count()} logical CPUs shared with other jobs while measured \
(load average {load_before} before, {load_after} after). PostgreSQL {version}, the test
server's settings (fsync off; `work_mem` is raised to {an_work_mem()} by the analytics
transaction itself). {command}, {args.repeat} timed runs per query after one warm-up.

{args.trades:,} synthetic trades (`tribar.analysis.analytics.synthetic.make_trades`, seed 1,
730 days, 6 pairs, 10 % without model confidence, 5 % without fill telemetry), loaded by COPY
in {load_s:.0f} s. Baseline: the same figure from `pd.read_sql` of the needed columns of every
selected row, computed in pandas; "same answer" compares the two.

### All trades

{table(results)}

### One quarter, two pairs, live only ({selected:,} trades)

{table(filtered)}

The ledger has the schema of migration 0002: the covering index `ix_trades_timestamp_id`
(`(timestamp, id) INCLUDE (net_pnl)`, read by `summary` and `equity_curve`) and the expression
statistics on the UTC hour, UTC weekday and confidence bucket.

### All trades, without the expression statistics

The grouped queries again after `DROP STATISTICS` and `ANALYZE`: PostgreSQL then expects about
one group per row for these expressions and aggregates on one core; with them (the tables
above) it aggregates in parallel.

{table(without_stats)}
"""
    if not args.no_write:
        MD_PATH.write_text(body)
        print(f"wrote {MD_PATH}")
    return 0


def statistics_names() -> list[str]:
    """The names in ``CREATE STATISTICS IF NOT EXISTS <name> ON …`` statements."""
    return [ddl.split()[5] for ddl in expression_statistics_ddl()]


def an_work_mem() -> str:
    from tribar.analysis.analytics.transport import PG_WORK_MEM

    return PG_WORK_MEM


if __name__ == "__main__":
    raise SystemExit(main())
