"""Seeded, realistic synthetic trades for tests, benchmarks and demo reports.

The shape matters more than the numbers: several pairs and strategies, live and dry-run rows,
a confidence that actually predicts the outcome (so the confidence table shows a slope), fat
tailed returns, and NULLs where a real ledger has them (no model, no fill telemetry).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tribar.analysis.ledger.schema import trades

PAIRS: dict[str, float] = {
    # pair -> typical price; weights below make BTC/ETH the busiest like a real whitelist.
    "BTC/USDT": 60_000.0,
    "ETH/USDT": 3_000.0,
    "SOL/USDT": 150.0,
    "XRP/USDT": 0.6,
    "BNB/USDT": 550.0,
    "DOGE/USDT": 0.15,
}
PAIR_WEIGHTS = (0.3, 0.25, 0.15, 0.1, 0.1, 0.1)
STRATEGIES = ("TripleBarrierML", "TripleBarrierMLv2")
EXIT_REASONS = ("take_profit", "stop_loss", "timeout", "trailing_stop_loss", "exit_signal")
FEE_RATE = 0.001


def make_trades(
    n: int,
    *,
    seed: int = 7,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    days: float = 120.0,
    null_confidence_share: float = 0.1,
) -> pd.DataFrame:
    """``n`` closed trades with every ``trades`` column the ledger writes (no id/recorded_at).

    Money columns are rounded to the schema's scale so the frame equals what the database
    stores, which lets tests compare database answers with pandas on this very frame.
    """
    rng = np.random.default_rng(seed)
    pair_names = np.array(list(PAIRS))
    pair_idx = rng.choice(len(pair_names), size=n, p=PAIR_WEIGHTS)
    base_price = np.array(list(PAIRS.values()))[pair_idx]

    start_us = int(start.timestamp() * 1_000_000)
    entry_us = start_us + np.sort(rng.integers(0, int(days * 86_400e6), size=n))
    # Holding times: minutes to a couple of days, mostly a few hours (triple-barrier timeout).
    hold_us = (rng.exponential(3.0, size=n) * 3_600e6).astype(np.int64) + 60_000_000
    exit_us = entry_us + hold_us

    confidence = rng.beta(2.5, 2.0, size=n)
    # The edge grows with confidence; otherwise the confidence report would be flat noise.
    win_prob = 0.4 + 0.3 * confidence
    won = rng.random(n) < win_prob
    move = np.abs(rng.standard_t(4, size=n)) * 0.008 + 0.001
    gross_ret = np.where(won, move, -move * rng.uniform(0.6, 1.1, size=n))
    side = np.where(rng.random(n) < 0.8, "long", "short")
    sign = np.where(side == "long", 1.0, -1.0)

    entry_price = np.round(base_price * rng.lognormal(0.0, 0.05, size=n), 12)
    exit_price = np.round(entry_price * (1.0 + sign * gross_ret), 12)
    exit_price = np.maximum(exit_price, 1e-12)
    stake = rng.uniform(50.0, 250.0, size=n)
    quantity = np.round(stake / entry_price, 12)
    pnl_usdt = np.round(sign * (exit_price - entry_price) * quantity, 10)
    commission = np.round(FEE_RATE * (entry_price + exit_price) * quantity, 10)
    net_pnl = np.round(pnl_usdt - commission, 10)
    pnl_pct = pnl_usdt / (entry_price * quantity)

    conf_col = np.where(rng.random(n) < null_confidence_share, np.nan, confidence)
    predicted = np.where(sign > 0, "up", "down")
    actual = np.where(
        exit_price > entry_price, "up", np.where(exit_price < entry_price, "down", "flat")
    )
    no_fill_info = rng.random(n) < 0.05
    slippage = np.where(no_fill_info, np.nan, np.abs(rng.normal(0.0, 3.0, size=n)) + 0.2)
    latency = np.where(no_fill_info, np.nan, rng.lognormal(np.log(80.0), 0.6, size=n))
    dry_run = rng.random(n) < 0.3

    frame = pd.DataFrame(
        {
            "trade_id": [f"syn-{seed}-{i}" for i in range(n)],
            "timestamp": pd.to_datetime(exit_us, unit="us", utc=True),
            "symbol": pair_names[pair_idx],
            "side": side,
            "entry_price": entry_price,
            "exit_price": exit_price,
            "quantity": quantity,
            "pnl_usdt": pnl_usdt,
            "pnl_pct": pnl_pct,
            "commission": commission,
            "net_pnl": net_pnl,
            "model_confidence": conf_col,
            "predicted_direction": pd.Series(predicted).where(~np.isnan(conf_col), None),
            "actual_direction": actual,
            "slippage_bps": slippage,
            "order_latency_ms": latency,
            "execution_type": np.where(rng.random(n) < 0.6, "taker", "maker"),
            "market_volatility": rng.lognormal(np.log(0.02), 0.4, size=n),
            "spread_bps": rng.lognormal(np.log(1.5), 0.5, size=n),
            "volume_24h": np.round(rng.lognormal(np.log(5e8), 1.0, size=n), 2),
            "exit_reason": rng.choice(EXIT_REASONS, size=n),
            "strategy_version": "1.0.0",
            "config_hash": "0" * 16,
            "entry_time": pd.to_datetime(entry_us, unit="us", utc=True),
            "exit_time": pd.to_datetime(exit_us, unit="us", utc=True),
            "bot_name": "tribar-synthetic",
            "strategy": rng.choice(STRATEGIES, size=n, p=(0.7, 0.3)),
            "exchange": "binance",
            "stake_currency": "USDT",
            "dry_run": dry_run,
            "source": np.where(dry_run, "dry_run", "live"),
        }
    )
    return frame


def _native(value: Any) -> Any:
    """DB drivers want plain Python scalars: numpy floats/bools and NaN are not all adaptable."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    columns: Sequence[str] = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        yield {c: _native(v) for c, v in zip(columns, row, strict=True)}


def insert_trades(engine: sa.Engine, frame: pd.DataFrame, chunk: int = 5_000) -> int:
    """Insert through SQLAlchemy Core, the way any client would (tests; use COPY for millions)."""
    rows = list(records(frame))
    with engine.begin() as conn:
        for i in range(0, len(rows), chunk):
            conn.execute(trades.insert(), rows[i : i + chunk])
    return len(rows)
