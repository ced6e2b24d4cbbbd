"""Ledger rows: built from Freqtrade trades (live objects, trades-DB records, backtest results).

Every source is first reduced to :class:`TradeFacts` (what Freqtrade knows about one closed
trade), then :func:`build_row` derives the ledger columns and validates them. A trade that can
never make a valid row raises :class:`InvalidTradeRow` with the reason; callers dead-letter it.

Derived columns (see docs/ledger.md for the full table):

* ``net_pnl`` is Freqtrade's ``close_profit_abs`` (after fees, funding and interest);
  ``commission`` = entry notional x fee_open + exit notional x fee_close;
  ``pnl_usdt`` = ``net_pnl + commission`` (gross, in the stake currency);
  ``pnl_pct`` = ``close_profit`` x 100 (percent of the stake, after fees).
* ``quantity`` is the total filled entry amount; ``exit_price`` the volume-weighted exit price.
* ``slippage_bps`` adds the adverse entry and exit slippage against the requested rates.
* ``timestamp`` is the close time (as in the original design) and equals ``exit_time``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from tribar.analysis.ledger.schema import EXIT_REASONS, TRADE_COLUMNS, trades

# Custom-data keys the strategy stores with ``trade.set_custom_data(key, value)``.
KEY_CONFIDENCE = "tribar_p_tp"
KEY_ATR = "tribar_atr"
KEY_SPREAD_BPS = "tribar_spread_bps"
KEY_VOLUME_24H = "tribar_volume_24h"
KEY_PREDICTED_DIRECTION = "tribar_predicted_direction"
KEY_EXECUTION_TYPE = "tribar_execution_type"
KEY_SLIPPAGE_BPS = "tribar_slippage_bps"
KEY_ORDER_LATENCY_MS = "tribar_order_latency_ms"
# Set by the strategy when RiskManager.decide resized the stake (strategies/TripleBarrierML.py).
KEY_STAKE_CAP = "tribar_stake_cap"
CUSTOM_DATA_KEYS = (
    KEY_CONFIDENCE,
    KEY_ATR,
    KEY_SPREAD_BPS,
    KEY_VOLUME_24H,
    KEY_PREDICTED_DIRECTION,
    KEY_EXECUTION_TYPE,
    KEY_SLIPPAGE_BPS,
    KEY_ORDER_LATENCY_MS,
    KEY_STAKE_CAP,
)

# Freqtrade exit reasons (ExitType values, legacy spellings, our strategy's custom exit tags)
# mapped onto the schema's domain. Anything else is a custom exit tag: 'other'.
_EXIT_REASON_MAP: dict[str, str] = {
    "roi": "roi",
    "minimal_roi": "roi",
    "stop_loss": "stop_loss",
    "stoploss": "stop_loss",
    "stoploss_on_exchange": "stop_loss",
    "trailing_stop_loss": "trailing_stop_loss",
    "trailing_stoploss": "trailing_stop_loss",
    "liquidation": "liquidation",
    "exit_signal": "exit_signal",
    "sell_signal": "exit_signal",
    "force_exit": "force_exit",
    "force_sell": "force_exit",
    "forcesell": "force_exit",
    "emergency_exit": "force_exit",
    "emergency_sell": "force_exit",
    "sold_on_exchange": "manual",
    "manual": "manual",
    "take_profit": "take_profit",
    "tp": "take_profit",
    "timeout": "timeout",
    "time_exit": "timeout",
    "vertical_barrier": "timeout",
}

# Columns are NUMERIC(28, s): the integer part must fit 28 - s digits.
_MAX_PRICE = Decimal(10) ** 16
_MAX_MONEY = Decimal(10) ** 18

_STRING_LIMITS: dict[str, int] = {
    c.name: int(c.type.length)
    for c in trades.columns
    if isinstance(c.type, sa.String) and c.type.length is not None
}


class InvalidTradeRow(ValueError):  # noqa: N818 - the name the strategy and docs use
    """A trade that can never become a valid ledger row; ``reason`` says why."""

    def __init__(self, reason: str, trade_id: str | None = None) -> None:
        super().__init__(f"trade {trade_id or '?'}: {reason}")
        self.reason = reason
        self.trade_id = trade_id


@dataclass(frozen=True, slots=True)
class Fill:
    """One filled order of a trade."""

    is_entry: bool
    amount: float
    price: float
    order_type: str | None = None
    placed_at: datetime | None = None
    filled_at: datetime | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class TradeFacts:
    """What Freqtrade knows about one closed trade, independent of where it was read from."""

    trade_id: str
    pair: str
    is_short: bool
    open_rate: float | None
    close_rate: float | None
    amount: float | None
    fee_open: float | None
    fee_close: float | None
    close_profit: float | None
    close_profit_abs: float | None
    open_date: datetime | None
    close_date: datetime | None
    exit_reason: str | None
    exchange: str | None = None
    strategy: str | None = None
    stake_currency: str | None = None
    open_rate_requested: float | None = None
    close_rate_requested: float | None = None
    fills: tuple[Fill, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowContext:
    """Per-bot (or per-import) values that are the same for every row."""

    source: str
    dry_run: bool | None = None
    bot_name: str | None = None
    exchange: str | None = None
    strategy: str | None = None
    stake_currency: str | None = None
    strategy_version: str | None = None
    config_hash: str | None = None
    known_pairs: frozenset[str] | None = None
    exit_reasons: Mapping[str, str] = field(default_factory=dict)
    """Extra exit-reason mapping (raw reason -> schema value), e.g. {"roi": "take_profit"} for a
    strategy whose ROI is its take-profit barrier. Checked by :func:`exit_reason_overrides`."""

    def __post_init__(self) -> None:
        if self.source not in ("live", "dry_run", "backtest", "import"):
            raise ValueError(
                f"row source must be live, dry_run, backtest or import: {self.source!r}"
            )
        for name in ("bot_name", "exchange", "strategy", "stake_currency", "strategy_version"):
            value = getattr(self, name)
            limit = _STRING_LIMITS[name]
            if value is not None and len(value) > limit:
                raise ValueError(f"{name} {value!r} is longer than the ledger's {limit} characters")


def _reason_key(raw: str) -> str:
    return raw.strip().lower().replace("-", "_").replace(" ", "_")


def normalise_exit_reason(
    raw: str | None, overrides: Mapping[str, str] | None = None
) -> str | None:
    """Freqtrade's exit reason (or a custom exit tag) as one of ``schema.EXIT_REASONS``."""
    if raw is None:
        return None
    key = _reason_key(raw)
    if not key:
        return None
    if overrides and key in overrides:
        return overrides[key]
    mapped = _EXIT_REASON_MAP.get(key, key)
    return mapped if mapped in EXIT_REASONS else "other"


def exit_reason_overrides(value: Any, where: str) -> dict[str, str]:
    """Validate a user's exit-reason mapping (config ``tribar.ledger_exit_reasons``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object of reason -> ledger reason, got {value!r}")
    out: dict[str, str] = {}
    for raw, target in value.items():
        if not isinstance(raw, str) or target not in EXIT_REASONS:
            raise ValueError(
                f"{where}: {raw!r} -> {target!r} is not allowed; ledger reasons are "
                f"{', '.join(EXIT_REASONS)}"
            )
        out[_reason_key(raw)] = str(target)
    return out


def live_trade_id(exchange: str, pair: str, ft_id: int, open_date: datetime) -> str:
    """Ledger id of a bot trade: the same from the live object and from the trades DB.

    Freqtrade's numeric id restarts with a new trades DB, so the open time is part of it.
    """
    return f"ft:{exchange}:{pair}:{ft_id}:{int(as_utc(open_date).timestamp())}"


def as_utc(value: datetime) -> datetime:
    """Freqtrade stores naive UTC datetimes; make them aware (or convert aware ones to UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _finite(value: Any) -> float | None:
    """A finite float, or None for missing/NaN/inf/unparseable values (optional context)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _required_number(facts: TradeFacts, name: str, value: Any, *, positive: bool) -> float:
    if value is None:
        raise InvalidTradeRow(f"{name} is missing", facts.trade_id)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidTradeRow(f"{name} is not a number: {value!r}", facts.trade_id) from None
    if not math.isfinite(number):
        raise InvalidTradeRow(f"{name} is not finite: {number}", facts.trade_id)
    if positive and number <= 0:
        raise InvalidTradeRow(f"{name} must be > 0, got {number}", facts.trade_id)
    return number


def _decimal(facts: TradeFacts, name: str, value: float, limit: Decimal) -> Decimal:
    # str() keeps the float's shortest round-trip digits instead of its binary expansion.
    number = Decimal(str(value))
    if abs(number) >= limit:
        raise InvalidTradeRow(f"{name} {value} exceeds the ledger's NUMERIC range", facts.trade_id)
    return number


def _weighted_price(fills: Iterable[Fill]) -> tuple[float, float] | None:
    """(total amount, volume-weighted price) of usable fills, or None."""
    total = 0.0
    notional = 0.0
    for f in fills:
        if f.amount > 0 and f.price > 0 and math.isfinite(f.amount * f.price):
            total += f.amount
            notional += f.amount * f.price
    if total <= 0:
        return None
    return total, notional / total


def _direction(entry: float, exit_: float) -> str:
    if exit_ > entry:
        return "up"
    if exit_ < entry:
        return "down"
    return "flat"


def _slippage_bps(facts: TradeFacts, entry: float, exit_: float) -> float | None:
    """Adverse slippage (positive = worse than requested) summed over entry and exit."""
    override = _finite(facts.custom.get(KEY_SLIPPAGE_BPS))
    if override is not None:
        return override
    req_in = _finite(facts.open_rate_requested)
    req_out = _finite(facts.close_rate_requested)
    if not req_in or not req_out or req_in <= 0 or req_out <= 0:
        return None
    sign = -1.0 if facts.is_short else 1.0
    entry_bps = sign * (entry - req_in) / req_in * 1e4
    exit_bps = sign * (req_out - exit_) / req_out * 1e4
    return entry_bps + exit_bps


def _execution_type(facts: TradeFacts, last_exit: Fill | None) -> str | None:
    override = facts.custom.get(KEY_EXECUTION_TYPE)
    if isinstance(override, str) and override.lower() in ("maker", "taker"):
        return override.lower()
    if last_exit is None or not last_exit.order_type:
        return None
    order_type = last_exit.order_type.lower().replace("-", "_")
    # Freqtrade cannot tell whether a limit order crossed the book; a resting limit is a maker.
    if order_type == "limit":
        return "maker"
    if order_type == "market" or "stop" in order_type:
        return "taker"
    return None


def _latency_ms(facts: TradeFacts, last_exit: Fill | None) -> float | None:
    override = _finite(facts.custom.get(KEY_ORDER_LATENCY_MS))
    if override is not None:
        return override if override >= 0 else None
    if last_exit is None or last_exit.placed_at is None or last_exit.filled_at is None:
        return None
    delta = (as_utc(last_exit.filled_at) - as_utc(last_exit.placed_at)).total_seconds() * 1e3
    return delta if delta >= 0 else None


def _confidence(facts: TradeFacts) -> float | None:
    raw = facts.custom.get(KEY_CONFIDENCE)
    value = _finite(raw)
    if value is None:
        # NaN means "the model gave no prediction"; anything else unparseable is a bug upstream.
        if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
            raise InvalidTradeRow(
                f"custom data {KEY_CONFIDENCE} must be a number in 0..1, got {raw!r}",
                facts.trade_id,
            )
        return None
    if not 0.0 <= value <= 1.0:
        raise InvalidTradeRow(
            f"model confidence {KEY_CONFIDENCE}={value} is outside 0..1", facts.trade_id
        )
    return value


def _text(facts: TradeFacts, name: str, value: str | None) -> str | None:
    if value is None:
        return None
    limit = _STRING_LIMITS.get(name)
    if limit is not None and len(value) > limit:
        raise InvalidTradeRow(f"{name} {value!r} is longer than {limit} characters", facts.trade_id)
    return value


def _stake_cap(facts: TradeFacts) -> str | None:
    value = facts.custom.get(KEY_STAKE_CAP)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTradeRow(
            f"custom data {KEY_STAKE_CAP} is {value!r}; expected a risk cap name", facts.trade_id
        )
    return _text(facts, "stake_cap", value)


def _dry_run_from_fills(fills: Sequence[Fill]) -> bool | None:
    ids = [f.order_id for f in fills if f.order_id]
    if not ids:
        return None
    # Freqtrade names simulated orders dry_run_<side>_<pair>_<uuid>.
    return all(i.startswith("dry_run_") for i in ids)


def build_row(facts: TradeFacts, ctx: RowContext) -> dict[str, Any]:
    """The ledger row (column name -> value) for one closed trade; raises InvalidTradeRow."""
    tid = facts.trade_id
    if not tid or len(tid) > _STRING_LIMITS["trade_id"]:
        raise InvalidTradeRow(f"trade_id must be 1..128 characters, got {tid!r}", tid or None)
    if not facts.pair or not isinstance(facts.pair, str):
        raise InvalidTradeRow(f"pair is missing: {facts.pair!r}", tid)
    if ctx.known_pairs is not None and facts.pair not in ctx.known_pairs:
        raise InvalidTradeRow(f"unknown pair {facts.pair!r} (not in the exchange's markets)", tid)
    if facts.open_date is None:
        raise InvalidTradeRow("open_date is missing", tid)
    if facts.close_date is None:
        raise InvalidTradeRow("close_date is missing (trade not closed)", tid)
    entry_time = as_utc(facts.open_date)
    exit_time = as_utc(facts.close_date)
    if exit_time < entry_time:
        raise InvalidTradeRow(
            f"exit {exit_time.isoformat()} is before entry {entry_time.isoformat()}", tid
        )

    entry_price = _required_number(facts, "open_rate", facts.open_rate, positive=True)
    close_rate = _required_number(facts, "close_rate", facts.close_rate, positive=True)
    fee_open = _finite(facts.fee_open) or 0.0
    fee_close = _finite(facts.fee_close) or 0.0
    if fee_open < 0 or fee_close < 0:
        raise InvalidTradeRow(f"negative fee rate (open {fee_open}, close {fee_close})", tid)
    net_pnl = _required_number(facts, "close_profit_abs", facts.close_profit_abs, positive=False)
    profit_ratio = _required_number(facts, "close_profit", facts.close_profit, positive=False)
    if not math.isfinite(profit_ratio * 100.0):
        raise InvalidTradeRow(f"close_profit {profit_ratio} is out of range", tid)

    entries = _weighted_price(f for f in facts.fills if f.is_entry)
    exit_fills = [f for f in facts.fills if not f.is_entry]
    exits = _weighted_price(exit_fills)
    if entries is not None:
        quantity = entries[0]
    else:
        quantity = _required_number(facts, "amount", facts.amount, positive=True)
    quantity = _required_number(facts, "quantity", quantity, positive=True)
    exit_price = exits[1] if exits is not None else close_rate
    exit_quantity = exits[0] if exits is not None else quantity
    commission = quantity * entry_price * fee_open + exit_quantity * exit_price * fee_close
    if not math.isfinite(commission):
        raise InvalidTradeRow(f"commission is not finite: {commission}", tid)
    if len(exit_fills) <= 1:
        last_exit = exit_fills[0] if exit_fills else None
    else:
        last_exit = max(exit_fills, key=lambda f: as_utc(f.filled_at) if f.filled_at else exit_time)

    confidence = _confidence(facts)
    predicted = facts.custom.get(KEY_PREDICTED_DIRECTION)
    if predicted not in ("up", "down", "flat"):
        # The model only opens a position in the direction it predicts.
        predicted = None if confidence is None else ("down" if facts.is_short else "up")

    dry_run = ctx.dry_run if ctx.dry_run is not None else _dry_run_from_fills(facts.fills)
    if dry_run is None:
        raise InvalidTradeRow("cannot tell whether the trade was dry-run or live", tid)

    row: dict[str, Any] = {
        "trade_id": tid,
        "timestamp": exit_time,
        "symbol": _text(facts, "symbol", facts.pair),
        "side": "short" if facts.is_short else "long",
        "entry_price": _decimal(facts, "entry_price", entry_price, _MAX_PRICE),
        "exit_price": _decimal(facts, "exit_price", exit_price, _MAX_PRICE),
        "quantity": _decimal(facts, "quantity", quantity, _MAX_PRICE),
        "pnl_usdt": _decimal(facts, "pnl_usdt", net_pnl + commission, _MAX_MONEY),
        "pnl_pct": profit_ratio * 100.0,
        "commission": _decimal(facts, "commission", commission, _MAX_MONEY),
        "net_pnl": _decimal(facts, "net_pnl", net_pnl, _MAX_MONEY),
        "model_confidence": confidence,
        "predicted_direction": predicted,
        "actual_direction": _direction(entry_price, exit_price),
        "slippage_bps": _slippage_bps(facts, entry_price, exit_price),
        "order_latency_ms": _latency_ms(facts, last_exit),
        "execution_type": _execution_type(facts, last_exit),
        "market_volatility": _finite(facts.custom.get(KEY_ATR)),
        "spread_bps": _finite(facts.custom.get(KEY_SPREAD_BPS)),
        "volume_24h": _optional_money(facts, facts.custom.get(KEY_VOLUME_24H)),
        "exit_reason": normalise_exit_reason(facts.exit_reason, ctx.exit_reasons),
        "strategy_version": ctx.strategy_version,
        "config_hash": ctx.config_hash,
        "entry_time": entry_time,
        "exit_time": exit_time,
        "bot_name": ctx.bot_name,
        "strategy": _text(facts, "strategy", facts.strategy or ctx.strategy),
        "exchange": _text(facts, "exchange", facts.exchange or ctx.exchange),
        "stake_currency": _text(
            facts, "stake_currency", facts.stake_currency or ctx.stake_currency
        ),
        "dry_run": bool(dry_run),
        "source": ctx.source,
        "stake_cap": _stake_cap(facts),
    }
    return row


def _optional_money(facts: TradeFacts, value: Any) -> Decimal | None:
    number = _finite(value)
    if number is None or number < 0:
        return None
    return _decimal(facts, "volume_24h", number, _MAX_MONEY)


# --- Sources -----------------------------------------------------------------------------------


_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s", "named": ":tid", "numeric": ":1"}


def decode_custom_value(cd_type: str, cd_value: str) -> Any:
    """A ``trade_custom_data`` value as Freqtrade's CustomDataWrapper decodes it."""
    if cd_type == "bool":
        return cd_value.lower() == "true"
    if cd_type == "int":
        return int(cd_value)
    if cd_type == "float":
        return float(cd_value)
    if cd_type == "str":
        return cd_value
    return json.loads(cd_value)


def _custom_rows_via_session(trade: Any) -> list[tuple[str, str, str]] | None:
    """Custom data of a DB-backed Trade with one driver-level query on its own session.

    Freqtrade's get_all_custom_data goes through the ORM (~0.4 ms); the bot thread's budget
    for the whole mirror call is 1 ms, and this reads the same rows in ~20 us.
    """
    session = getattr(type(trade), "session", None)
    if not getattr(trade, "use_db", False) or session is None:
        return None
    conn = session.connection()
    placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    dbapi = conn.connection.dbapi_connection
    if placeholder is None or dbapi is None:
        return None
    param: Any = {"tid": trade.id} if placeholder == ":tid" else (trade.id,)
    cur = dbapi.cursor()
    try:
        cur.execute(
            "SELECT cd_key, cd_type, cd_value FROM trade_custom_data "
            f"WHERE ft_trade_id = {placeholder}",
            param,
        )
        return [(str(k), str(t), str(v)) for k, t, v in cur.fetchall()]
    finally:
        cur.close()


def _custom_data_of(trade: Any) -> dict[str, Any]:
    wanted = {k.casefold(): k for k in CUSTOM_DATA_KEYS}
    out: dict[str, Any] = {}
    rows = _custom_rows_via_session(trade)
    if rows is not None:
        for key, cd_type, cd_value in rows:
            name = wanted.get(key.casefold())
            if name is not None:
                try:
                    out[name] = decode_custom_value(cd_type, cd_value)
                except (ValueError, TypeError):
                    out[name] = cd_value  # build_row reports what is wrong with it
        return out
    # Backtesting (LocalTrade): custom data lives in memory.
    for entry in trade.get_all_custom_data():
        name = wanted.get(str(entry.cd_key).casefold())
        if name is not None:
            out[name] = entry.value
    return out


def facts_from_trade(trade: Any) -> TradeFacts:
    """Facts of a Freqtrade ``Trade``/``LocalTrade`` (read on the thread that owns its session)."""
    fills: list[Fill] = []
    entry_side = trade.entry_side
    for o in trade.orders:
        filled = o.filled if o.filled is not None else 0.0
        if o.ft_is_open or not filled or filled <= 0:
            continue
        fills.append(
            Fill(
                is_entry=o.ft_order_side == entry_side,
                amount=float(filled),
                price=float(o.safe_price),
                order_type=o.order_type,
                placed_at=o.order_date,
                filled_at=o.order_filled_date,
                order_id=o.order_id,
            )
        )
    open_date = trade.open_date
    return TradeFacts(
        trade_id=live_trade_id(trade.exchange, trade.pair, int(trade.id), open_date),
        pair=trade.pair,
        is_short=bool(trade.is_short),
        open_rate=trade.open_rate,
        close_rate=trade.close_rate,
        amount=trade.amount,
        fee_open=trade.fee_open,
        fee_close=trade.fee_close,
        close_profit=trade.close_profit,
        close_profit_abs=trade.close_profit_abs,
        open_date=open_date,
        close_date=trade.close_date,
        exit_reason=trade.exit_reason,
        exchange=trade.exchange,
        strategy=trade.strategy,
        stake_currency=trade.stake_currency,
        open_rate_requested=trade.open_rate_requested,
        close_rate_requested=trade.close_rate_requested,
        fills=tuple(fills),
        custom=_custom_data_of(trade),
    )


def _ms_to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, int | float):
        return _ms_to_datetime(value)
    return as_utc(datetime.fromisoformat(str(value)))


def facts_from_backtest(
    trade: Mapping[str, Any], trade_id: str, strategy: str | None
) -> TradeFacts:
    """Facts of one trade dict of a Freqtrade backtest result (``strategy.<name>.trades[i]``)."""
    is_short = bool(trade.get("is_short", False))
    fills: list[Fill] = []
    for o in trade.get("orders") or []:
        amount = _finite(o.get("amount"))
        price = _finite(o.get("safe_price"))
        if amount is None or price is None:
            continue
        if "ft_is_entry" in o:
            is_entry = bool(o["ft_is_entry"])
        else:
            is_entry = o.get("ft_order_side") == ("sell" if is_short else "buy")
        filled_at = _ms_to_datetime(o.get("order_filled_timestamp"))
        fills.append(Fill(is_entry=is_entry, amount=amount, price=price, filled_at=filled_at))
    open_date = _parse_time(trade.get("open_date") or trade.get("open_timestamp"))
    close_date = _parse_time(trade.get("close_date") or trade.get("close_timestamp"))
    return TradeFacts(
        trade_id=trade_id,
        pair=trade.get("pair", ""),
        is_short=is_short,
        open_rate=trade.get("open_rate"),
        close_rate=trade.get("close_rate"),
        amount=trade.get("amount"),
        fee_open=trade.get("fee_open"),
        fee_close=trade.get("fee_close"),
        close_profit=trade.get("profit_ratio"),
        close_profit_abs=trade.get("profit_abs"),
        open_date=open_date,
        close_date=close_date,
        exit_reason=trade.get("exit_reason"),
        strategy=strategy,
        fills=tuple(fills),
    )


# --- Serialisation (outbox payloads, dead letters) ---------------------------------------------


def _column_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for c in trades.columns:
        if isinstance(c.type, sa.Numeric) and not isinstance(c.type, sa.Float):
            kinds[c.name] = "decimal"
        elif isinstance(c.type, sa.DateTime):
            kinds[c.name] = "datetime"
    return kinds


_KINDS = _column_kinds()


def json_safe(value: Any) -> Any:
    """``value`` as strict JSON data: NaN/inf become strings (PostgreSQL's json rejects them)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _encode_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"ledger row value of type {type(value).__name__} is not serialisable")


def row_to_json(row: Mapping[str, Any]) -> str:
    """A row built by :func:`build_row` as compact JSON (it holds no NaN/inf by construction).

    Runs on the bot thread for every closed trade: json's C encoder with a hook for the two
    non-JSON types, instead of walking the row in Python first.
    """
    return json.dumps(row, default=_encode_default, separators=(",", ":"), allow_nan=False)


def row_from_json(text: str) -> dict[str, Any]:
    """Inverse of :func:`row_to_json`; unknown keys are an error (a payload from elsewhere)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"ledger row payload must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - set(TRADE_COLUMNS)
    if unknown:
        raise ValueError(f"ledger row payload has unknown columns: {sorted(unknown)}")
    row: dict[str, Any] = {}
    for name, value in data.items():
        kind = _KINDS.get(name)
        if value is None or kind is None:
            row[name] = value
        elif kind == "decimal":
            row[name] = Decimal(value)
        else:
            row[name] = as_utc(datetime.fromisoformat(value))
    return row


def facts_to_payload(facts: TradeFacts) -> dict[str, Any]:
    """The facts as JSON data, for a dead letter."""
    payload: dict[str, Any] = json_safe(asdict(facts))
    return payload
