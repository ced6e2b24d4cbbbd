"""The closing lines of a replay: what the bot did, and where its records are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tribar.paper.replay import ReplayResult


@dataclass(frozen=True)
class TradeCounts:
    opened: int
    closed: int
    still_open: int
    realised_profit: float


def trade_counts(db_url: str) -> TradeCounts:
    """Counts from the bot's own trades database (read with plain SQL, never migrated)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT COUNT(*), SUM(CASE WHEN is_open THEN 0 ELSE 1 END), "
                    "SUM(CASE WHEN is_open THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN is_open THEN 0 ELSE close_profit_abs END) FROM trades"
                )
            ).one()
    finally:
        engine.dispose()
    return TradeCounts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), float(row[3] or 0.0))


def print_replay_summary(result: ReplayResult) -> None:
    run = result.run_dir
    print()
    print(
        f"replay finished (exit {result.exit_code}): {result.simulated_hours:.0f} simulated hours "
        f"in {result.wall_seconds:.0f} s ({result.speed:.1f} simulated h/s, {result.steps} steps)"
    )
    db = Path(result.db_url.removeprefix("sqlite:///"))
    if db.is_file():
        counts = trade_counts(result.db_url)
        print(
            f"  trades          : {counts.opened} opened, {counts.closed} closed "
            f"({counts.realised_profit:+.2f} realised), {counts.still_open} still open"
        )
    print(f"  run folder      : {run}")
    print(f"  trades database : {result.db_url}")
    print(f"  freqtrade log   : {result.log_file}")
