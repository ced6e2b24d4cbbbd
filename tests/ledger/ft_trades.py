"""Real Freqtrade trades for the ledger tests, made with Freqtrade's own persistence models.

A trade is opened, filled and closed the way the bot does it (orders + ``update_trade``), so
``close_profit_abs``, fees and dates come from Freqtrade's code, not from the test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade.enums import TradingMode
from freqtrade.persistence import Order, Trade, init_db

_order_ids = itertools.count(1)


def open_trades_db(path: Path) -> str:
    """Point Freqtrade's (process-wide) persistence at a new SQLite file; return its URL."""
    url = f"sqlite:///{path}"
    init_db(url)
    return url


def _order(
    trade: Trade,
    side: str,
    amount: float,
    price: float,
    placed: datetime,
    filled: datetime,
    order_type: str,
    dry: bool,
    tag: str | None = None,
) -> Order:
    n = next(_order_ids)
    order_id = f"dry_run_{side}_{trade.pair}_{n}" if dry else f"{9000000 + n}"
    return Order(
        ft_order_side=side, ft_pair=trade.pair, ft_is_open=False, ft_amount=amount,
        ft_price=price, order_id=order_id, status="closed", symbol=trade.pair,
        order_type=order_type, side=side, price=price, average=price, amount=amount,
        filled=amount, remaining=0.0, cost=amount * price, order_date=placed,
        order_filled_date=filled, ft_order_tag=tag,
    )  # fmt: skip


def make_trade(
    pair: str = "BTC/USDT",
    *,
    open_date: datetime = datetime(2025, 3, 1, 10, tzinfo=UTC),
    hours: float = 3.0,
    open_rate: float = 100_000.0,
    close_rate: float | None = 101_000.0,
    amount: float = 0.001,
    is_short: bool = False,
    fee: float = 0.001,
    exit_reason: str = "take_profit",
    custom: dict[str, Any] | None = None,
    dry: bool = True,
    exit_order_type: str = "market",
    open_rate_requested: float | None = None,
    close_rate_requested: float | None = None,
    strategy: str = "TripleBarrierML",
) -> Trade:
    """A Trade in the current Freqtrade DB; closed unless ``close_rate`` is None."""
    trade = Trade(
        pair=pair, exchange="binance", stake_amount=amount * open_rate, amount=amount,
        open_rate=open_rate, open_rate_requested=open_rate_requested, fee_open=fee,
        fee_close=fee, open_date=open_date, is_open=True, strategy=strategy,
        stake_currency="USDT", is_short=is_short, leverage=1.0,
        trading_mode=TradingMode.FUTURES if is_short else TradingMode.SPOT,
    )  # fmt: skip
    Trade.session.add(trade)
    Trade.session.flush()
    entry = _order(trade, "sell" if is_short else "buy", amount, open_rate, open_date,
                   open_date + timedelta(seconds=2), "limit", dry)  # fmt: skip
    trade.orders.append(entry)
    trade.update_trade(entry)
    for key, value in (custom or {}).items():
        trade.set_custom_data(key, value)
    if close_rate is not None:
        close_at = open_date + timedelta(hours=hours)
        exit_ = _order(trade, "buy" if is_short else "sell", amount, close_rate, close_at,
                       close_at + timedelta(milliseconds=250), exit_order_type, dry,
                       tag=exit_reason)  # fmt: skip
        trade.orders.append(exit_)
        trade.exit_reason = exit_reason
        trade.close_rate_requested = close_rate_requested
        trade.update_trade(exit_)
    Trade.commit()
    return trade
