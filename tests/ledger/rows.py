"""Synthetic but valid ledger rows (built through trade_rows.build_row, like real ones)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tribar.analysis.ledger.trade_rows import RowContext, TradeFacts, build_row

CTX = RowContext(source="dry_run", dry_run=True, bot_name="tribar", exchange="binance",
                 strategy="TripleBarrierML", stake_currency="USDT")  # fmt: skip
PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def sample_facts(i: int, rng: random.Random | None = None, **changes: Any) -> TradeFacts:
    r = rng or random.Random(i)
    entry = r.uniform(1, 1000)
    exit_ = entry * r.uniform(0.95, 1.05)
    amount = r.uniform(0.01, 10)
    short = r.random() < 0.3
    fee = 0.001
    gross = (entry - exit_) * amount if short else (exit_ - entry) * amount
    net = gross - (entry + exit_) * amount * fee
    opened = T0 + timedelta(minutes=37 * i + r.randint(0, 30))
    fields: dict[str, Any] = dict(
        trade_id=f"test:{i}", pair=PAIRS[i % len(PAIRS)], is_short=short, open_rate=entry,
        close_rate=exit_, amount=amount, fee_open=fee, fee_close=fee,
        close_profit=net / (entry * amount), close_profit_abs=net, open_date=opened,
        close_date=opened + timedelta(minutes=r.randint(1, 600)),
        exit_reason=r.choice(["take_profit", "stop_loss", "timeout", "roi"]),
        custom={"tribar_p_tp": round(r.random(), 4), "tribar_atr": entry * 0.01},
    )  # fmt: skip
    fields.update(changes)
    return TradeFacts(**fields)


def sample_row(i: int, ctx: RowContext = CTX, **changes: Any) -> dict[str, Any]:
    return build_row(sample_facts(i, **changes), ctx)
