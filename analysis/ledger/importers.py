"""Fill the ledger from Freqtrade's own records: a trades database or backtest result files.

Rows from a trades DB get the same ``trade_id`` as the live mirror produces for the same trade,
so importing after an outage fills gaps without duplicates. By default an import never
overwrites rows already in the ledger (the mirror's rows carry the bot's live context);
``replace=True`` does.

The trades DB is read with plain SQL (reflection), not Freqtrade's ``init_db``, which would
migrate the source database and bind process-wide sessions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tribar.analysis.ledger.backtest_signals import entry_context, load_signal_candles
from tribar.analysis.ledger.bulk import write_rows
from tribar.analysis.ledger.confighash import config_hash
from tribar.analysis.ledger.db import insert_dead_letter
from tribar.analysis.ledger.trade_rows import (
    CUSTOM_DATA_KEYS,
    Fill,
    InvalidTradeRow,
    RowContext,
    TradeFacts,
    as_utc,
    build_row,
    decode_custom_value,
    facts_from_backtest,
    facts_to_payload,
    live_trade_id,
)
from tribar.analysis.ledger.url import LedgerConfigError, safe_url

log = logging.getLogger(__name__)


# Columns every Freqtrade trades DB has had since 2020; without them it is something else.
_REQUIRED_TRADE_COLUMNS = frozenset(
    ("id", "pair", "is_open", "open_rate", "close_rate", "amount", "open_date", "close_date")
)


class ImportSourceError(ValueError):
    """The import source (trades DB, backtest file) is missing or not what was expected."""


@dataclass
class ImportSummary:
    source: str
    read: int = 0
    """Closed trades found in the source."""
    written: int = 0
    """Rows inserted (or updated with replace)."""
    already_present: int = 0
    """Valid rows whose trade_id was already in the ledger (left as they were)."""
    dead_lettered: int = 0
    """Trades that can never be valid rows, stored in trade_dead_letters with the reason."""
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.source}: {self.read} closed trade(s) read, {self.written} written, "
            f"{self.already_present} already in the ledger, {self.dead_lettered} dead-lettered "
            f"({self.seconds:.2f}s, {rate:,.0f} trades/s)"
        )


def store_facts(
    conn: Connection,
    facts: Iterable[TradeFacts],
    ctx: RowContext,
    *,
    source: str,
    replace: bool = False,
) -> ImportSummary:
    """Validate, write and dead-letter ``facts`` in the caller's transaction."""
    summary = ImportSummary(source=source)
    rows: list[dict[str, Any]] = []
    dead: list[tuple[str | None, dict[str, Any], str]] = []
    for f in facts:
        summary.read += 1
        try:
            rows.append(build_row(f, ctx))
        except InvalidTradeRow as bad:
            dead.append((f.trade_id, facts_to_payload(f), bad.reason))
    result = write_rows(conn, rows, on_conflict="update" if replace else "ignore")
    summary.written = result.written
    summary.already_present = result.submitted - result.written - len(result.rejected)
    if replace:
        summary.already_present = 0
    for row, reason in result.rejected:
        dead.append((row.get("trade_id"), row, f"rejected by the ledger database: {reason}"))
    for trade_id, payload, reason in dead:
        insert_dead_letter(conn, trade_id, payload, reason)
    summary.dead_lettered = len(dead)
    return summary


# --- Freqtrade trades database ------------------------------------------------------------------


def _reflect(source: Engine, url: str) -> tuple[sa.Table, sa.Table, sa.Table | None]:
    meta = sa.MetaData()
    try:
        meta.reflect(
            source, only=lambda name, _m: name in ("trades", "orders", "trade_custom_data")
        )
    except sa.exc.OperationalError as exc:
        raise ImportSourceError(
            f"cannot read the trades database {safe_url(url)}: {exc.orig}"
        ) from exc
    if "trades" in meta.tables and "trade_id" in meta.tables["trades"].columns:
        raise ImportSourceError(f"{safe_url(url)} is a tribar ledger, not a Freqtrade trades DB")
    missing = [t for t in ("trades", "orders") if t not in meta.tables]
    if missing:
        raise ImportSourceError(
            f"{safe_url(url)} is not a Freqtrade trades database (no {', '.join(missing)} "
            "table); expected e.g. sqlite:///user_data/tradesv3.sqlite"
        )
    trades_t = meta.tables["trades"]
    lacking = _REQUIRED_TRADE_COLUMNS - set(trades_t.columns.keys())
    if lacking:
        raise ImportSourceError(
            f"the trades table of {safe_url(url)} lacks column(s) {sorted(lacking)}; is it a "
            "Freqtrade trades database?"
        )
    return trades_t, meta.tables["orders"], meta.tables.get("trade_custom_data")


def _col(table: sa.Table, name: str) -> Any:
    return table.c[name] if name in table.c else sa.literal(None).label(name)


def read_trades_db(url: str, *, strategy: str | None = None) -> list[TradeFacts]:
    """Facts of every closed trade in the Freqtrade trades DB at ``url`` (read only)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            raise ImportSourceError(f"trades database file {path} does not exist")
    try:
        source = sa.create_engine(url)
    except sa.exc.ArgumentError as exc:
        raise ImportSourceError(f"not a database URL: {url!r}") from exc
    try:
        trades_t, orders_t, custom_t = _reflect(source, url)
        wanted = [
            "id", "exchange", "pair", "is_short", "open_rate", "close_rate", "amount",
            "fee_open", "fee_close", "close_profit", "close_profit_abs", "open_date",
            "close_date", "exit_reason", "strategy", "stake_currency", "open_rate_requested",
            "close_rate_requested",
        ]  # fmt: skip
        query = sa.select(*[_col(trades_t, c) for c in wanted]).where(
            trades_t.c.is_open.is_(False), trades_t.c.close_date.is_not(None)
        )
        if strategy:
            query = query.where(trades_t.c.strategy == strategy)
        order_cols = [
            "ft_trade_id", "ft_order_side", "ft_is_open", "filled", "average", "price",
            "stop_price", "ft_price", "order_type", "order_date", "order_filled_date", "order_id",
        ]  # fmt: skip
        with source.connect() as conn:
            trade_rows = conn.execute(query.order_by(trades_t.c.id)).mappings().all()
            fills: dict[int, list[Mapping[Any, Any]]] = defaultdict(list)
            for o in conn.execute(
                sa.select(*[_col(orders_t, c) for c in order_cols]).order_by(orders_t.c.id)
            ).mappings():
                fills[o["ft_trade_id"]].append(o)
            custom: dict[int, dict[str, Any]] = defaultdict(dict)
            if custom_t is not None:
                keys = {k.casefold(): k for k in CUSTOM_DATA_KEYS}
                for c in conn.execute(
                    sa.select(
                        custom_t.c.ft_trade_id,
                        custom_t.c.cd_key,
                        custom_t.c.cd_type,
                        custom_t.c.cd_value,
                    ).where(sa.func.lower(custom_t.c.cd_key).in_(list(keys)))
                ).mappings():
                    try:
                        value = decode_custom_value(c["cd_type"], c["cd_value"])
                    except (ValueError, TypeError):
                        value = c["cd_value"]  # build_row reports what is wrong with it
                    custom[c["ft_trade_id"]][keys[c["cd_key"].casefold()]] = value
    finally:
        source.dispose()
    return [_db_facts(t, fills.get(t["id"], []), custom.get(t["id"], {})) for t in trade_rows]


def _db_facts(
    t: Mapping[Any, Any], orders: Sequence[Mapping[Any, Any]], custom: Mapping[str, Any]
) -> TradeFacts:
    is_short = bool(t["is_short"])
    entry_side = "sell" if is_short else "buy"
    fills = []
    for o in orders:
        filled = o["filled"]
        if o["ft_is_open"] or not filled or filled <= 0:
            continue
        price = o["average"] or o["price"] or o["stop_price"] or o["ft_price"]
        fills.append(
            Fill(
                is_entry=o["ft_order_side"] == entry_side,
                amount=float(filled),
                price=float(price or 0.0),
                order_type=o["order_type"],
                placed_at=o["order_date"],
                filled_at=o["order_filled_date"],
                order_id=o["order_id"],
            )
        )
    open_date = t["open_date"]
    exchange = t["exchange"] or ""
    return TradeFacts(
        trade_id=live_trade_id(exchange, t["pair"], int(t["id"]), open_date),
        pair=t["pair"],
        is_short=is_short,
        open_rate=t["open_rate"],
        close_rate=t["close_rate"],
        amount=t["amount"],
        fee_open=t["fee_open"],
        fee_close=t["fee_close"],
        close_profit=t["close_profit"],
        close_profit_abs=t["close_profit_abs"],
        open_date=as_utc(open_date),
        close_date=as_utc(t["close_date"]) if t["close_date"] is not None else None,
        exit_reason=t["exit_reason"],
        exchange=exchange or None,
        strategy=t["strategy"],
        stake_currency=t["stake_currency"],
        open_rate_requested=t["open_rate_requested"],
        close_rate_requested=t["close_rate_requested"],
        fills=tuple(fills),
        custom=dict(custom),
    )


def import_trades_db(
    ledger: Engine,
    db_url: str,
    *,
    replace: bool = False,
    dry_run: bool | None = None,
    bot_name: str | None = None,
    strategy: str | None = None,
    strategy_version: str | None = None,
    known_pairs: Iterable[str] | None = None,
    exit_reasons: Mapping[str, str] | None = None,
) -> ImportSummary:
    """Import the closed trades of a Freqtrade trades DB (``db_url``) into ``ledger``.

    ``dry_run`` None tells dry-run from live per trade by Freqtrade's ``dry_run_`` order ids.
    """
    started = time.perf_counter()
    facts = read_trades_db(db_url, strategy=strategy)
    ctx = RowContext(
        source="import",
        dry_run=dry_run,
        bot_name=bot_name,
        strategy_version=strategy_version,
        known_pairs=frozenset(known_pairs) if known_pairs is not None else None,
        exit_reasons=dict(exit_reasons or {}),
    )
    with ledger.begin() as conn:
        summary = store_facts(conn, facts, ctx, source=safe_url(db_url), replace=replace)
    summary.seconds = time.perf_counter() - started
    return summary


# --- Freqtrade backtest results -----------------------------------------------------------------


def _backtest_config(path: Path) -> dict[str, Any] | None:
    """The run's config saved next to the result (zip member ``<name>_config.json``)."""
    if path.suffix != ".zip":
        return None
    from freqtrade.data.btanalysis import load_file_from_zip

    try:
        raw = load_file_from_zip(path, f"{path.stem}_config.json")
    except ValueError:
        return None
    data = json.loads(raw)
    return data if isinstance(data, dict) else None


def load_backtest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Freqtrade's backtest result (``.zip``/``.json`` file, or a directory: its latest result)."""
    from freqtrade.data.btanalysis import get_latest_backtest_filename, load_backtest_stats

    p = Path(path)
    if p.is_dir():
        try:
            p = p / get_latest_backtest_filename(p)
        except ValueError as exc:
            raise ImportSourceError(f"no backtest result in directory {path}: {exc}") from exc
    if not p.is_file():
        raise ImportSourceError(f"backtest result file {p} does not exist")
    try:
        stats = load_backtest_stats(p)
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        raise ImportSourceError(f"cannot read backtest result {p}: {exc}") from exc
    if not isinstance(stats, dict) or not isinstance(stats.get("strategy"), dict):
        raise ImportSourceError(
            f"{p} is not a Freqtrade backtest result (expected an object with a 'strategy' "
            "mapping; results from before Freqtrade 2021 are not supported)"
        )
    return p, stats


def backtest_facts(
    path: Path, stats: Mapping[str, Any], strategy: str | None = None
) -> list[tuple[str, list[TradeFacts]]]:
    """Per strategy in the result: (strategy name, facts of its trades). With exported signal
    candles (``--export signals``) each trade gets the custom data its signal candle holds."""
    strategies: Mapping[str, Any] = stats["strategy"]
    signals = load_signal_candles(path)
    names = [strategy] if strategy else list(strategies)
    out = []
    for name in names:
        if name not in strategies:
            raise ImportSourceError(
                f"backtest result {path} has no strategy {name!r} (it has {sorted(strategies)})"
            )
        trades_list = strategies[name].get("trades")
        if not isinstance(trades_list, list):
            raise ImportSourceError(f"backtest result {path}: strategy {name} has no trades list")
        meta = (stats.get("metadata") or {}).get(name) or {}
        run_id = meta.get("run_id")
        if not run_id:
            # No metadata file: identify the run by its content, so re-imports still dedupe.
            blob = json.dumps([name, trades_list], sort_keys=True, default=str).encode()
            run_id = hashlib.sha256(blob).hexdigest()[:40]
        # Freqtrade's run_id already depends on the strategy (and its config and data).
        facts = [
            facts_from_backtest(t, f"bt:{run_id}:{i}", name)
            for i, t in enumerate(trades_list)
            if not t.get("is_open", False)
        ]
        timeframe = strategies[name].get("timeframe")
        if signals is not None and name in signals and timeframe:
            from freqtrade.exchange import timeframe_to_minutes

            candle = timedelta(minutes=timeframe_to_minutes(timeframe))
            facts = _with_signal_context(facts, signals[name], candle)
        out.append((name, facts))
    return out


def _with_signal_context(
    facts: list[TradeFacts], candles: Mapping[str, Any], timeframe: timedelta
) -> list[TradeFacts]:
    """Custom data from each trade's signal candle (columns named like the custom-data keys)."""
    by_pair: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for i, f in enumerate(facts):
        if f.open_date is not None:
            by_pair[f.pair].append((i, f.open_date))
    out = list(facts)
    for pair, entries in by_pair.items():
        context = entry_context(
            candles.get(pair), [opened for _, opened in entries], timeframe, CUSTOM_DATA_KEYS
        )
        for (i, _), values in zip(entries, context, strict=True):
            if values:
                out[i] = replace(facts[i], custom={**values, **facts[i].custom})
    return out


def import_backtest(
    ledger: Engine,
    path: str | Path,
    *,
    replace: bool = False,
    strategy: str | None = None,
    known_pairs: Iterable[str] | None = None,
    exit_reasons: Mapping[str, str] | None = None,
) -> list[ImportSummary]:
    """Import the closed trades of a backtest result; one summary per strategy."""
    started = time.perf_counter()
    file, stats = load_backtest(path)
    run_config = _backtest_config(file) or {}
    exchange = run_config.get("exchange") if isinstance(run_config.get("exchange"), dict) else {}
    summaries = []
    for name, facts in backtest_facts(file, stats, strategy):
        strat_stats = stats["strategy"][name]
        try:
            ctx = RowContext(
                source="backtest",
                dry_run=True,
                bot_name=run_config.get("bot_name") or None,
                exchange=(exchange or {}).get("name") or None,
                stake_currency=strat_stats.get("stake_currency") or None,
                config_hash=config_hash(run_config) if run_config else None,
                known_pairs=frozenset(known_pairs) if known_pairs is not None else None,
                exit_reasons=dict(exit_reasons or {}),
            )
        except ValueError as exc:
            raise LedgerConfigError(f"backtest {file}: {exc}") from exc
        with ledger.begin() as conn:
            summary = store_facts(conn, facts, ctx, source=f"{file.name} [{name}]", replace=replace)
        summary.seconds = time.perf_counter() - started
        summaries.append(summary)
        started = time.perf_counter()
    return summaries
