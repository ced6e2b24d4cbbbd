"""Mirror closed trades from the running bot into the ledger without blocking the bot loop.

The bot thread (``record_trade``, called from the strategy's ``order_filled``) only reads the
trade, builds and validates the row, and appends it to the local SQLite outbox. A daemon thread
delivers outbox entries to the ledger database with idempotent upserts on ``trade_id`` and
removes them only after the ledger committed. Connection problems are retried with capped
exponential backoff; rows the ledger can never accept become dead letters with the reason.

Usage from a strategy::

    def bot_start(self, **kwargs):
        self.ledger = TradeMirror.for_strategy(self.config, strategy_version=self.version())

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        if self.ledger is not None:
            self.ledger.record_trade(trade)   # ignores fills that leave the trade open
"""

from __future__ import annotations

import atexit
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tribar.analysis.ledger import migrate as ledger_migrate
from tribar.analysis.ledger.confighash import config_hash
from tribar.analysis.ledger.db import (
    create_ledger_engine,
    describe_error,
    insert_dead_letter,
    insert_decisions,
    is_permanent_error,
    upsert_rows,
)
from tribar.analysis.ledger.decision_rows import (
    DecisionDeduper,
    build_decision_row,
    decision_row_from_json,
    decision_row_to_json,
)
from tribar.analysis.ledger.outbox import Outbox, OutboxEntry, Synchronous
from tribar.analysis.ledger.trade_rows import (
    InvalidTradeRow,
    RowContext,
    TradeFacts,
    build_row,
    exit_reason_overrides,
    facts_from_trade,
    facts_to_payload,
    row_from_json,
    row_to_json,
)
from tribar.analysis.ledger.url import (
    LedgerConfigError,
    resolve_ledger_url,
    resolve_outbox_path,
    safe_url,
    tribar_setting,
)

log = logging.getLogger(__name__)

# Freqtrade run modes in which trades are real (or dry-run) bot trades worth mirroring.
_BOT_RUNMODES = frozenset({"live", "dry_run"})


@dataclass
class MirrorStats:
    recorded: int = 0
    delivered: int = 0
    decisions_recorded: int = 0
    decisions_delivered: int = 0
    dead_lettered: int = 0
    record_failures: int = 0
    delivery_failures: int = 0
    last_error: str | None = None


def context_from_config(
    config: Mapping[str, Any],
    *,
    strategy_version: str | None = None,
    known_pairs: Iterable[str] | None = None,
) -> RowContext:
    """The per-bot row context: identity, venue, dry-run flag and config hash of ``config``."""
    exchange = config.get("exchange") or {}
    if not isinstance(exchange, Mapping):
        raise LedgerConfigError(f"config key 'exchange' must be an object, got {exchange!r}")
    dry_run = config.get("dry_run")
    if dry_run is not None and not isinstance(dry_run, bool):
        raise LedgerConfigError(f"config key 'dry_run' must be true or false, got {dry_run!r}")
    version = strategy_version or tribar_setting(config, "strategy_version")
    if version is not None and not isinstance(version, str):
        version = str(version)
    try:
        return RowContext(
            exit_reasons=exit_reason_overrides(
                tribar_setting(config, "ledger_exit_reasons"),
                "config key tribar.ledger_exit_reasons",
            ),
            source="live" if dry_run is False else "dry_run",
            dry_run=dry_run,
            bot_name=config.get("bot_name") or None,
            exchange=exchange.get("name") or None,
            strategy=config.get("strategy") or None,
            stake_currency=config.get("stake_currency") or None,
            strategy_version=version,
            config_hash=config_hash(config),
            known_pairs=frozenset(known_pairs) if known_pairs is not None else None,
        )
    except ValueError as exc:
        raise LedgerConfigError(f"ledger row context from the config: {exc}") from exc


class TradeMirror:
    """Outbox on the caller's thread, delivery on a daemon thread. Never raises from record_*."""

    def __init__(
        self,
        ledger_url: str,
        outbox_path: str | Path,
        context: RowContext,
        *,
        auto_upgrade: bool | None = None,
        batch_size: int = 500,
        min_backoff: float = 0.5,
        max_backoff: float = 30.0,
        poll_interval: float = 1.0,
        settle: float = 0.05,
        synchronous: Synchronous = "NORMAL",
        start: bool = True,
    ) -> None:
        if (
            batch_size < 1
            or min_backoff <= 0
            or max_backoff < min_backoff
            or poll_interval <= 0
            or settle < 0
        ):
            raise ValueError(
                "TradeMirror needs batch_size >= 1, 0 < min_backoff <= max_backoff, "
                f"poll_interval > 0, settle >= 0 (got {batch_size}, {min_backoff}, "
                f"{max_backoff}, {poll_interval}, {settle})"
            )
        self.ledger_url = ledger_url
        self.context = context
        self._engine = create_ledger_engine(ledger_url)
        self.outbox = Outbox(outbox_path, synchronous=synchronous)
        self.stats = MirrorStats()
        is_sqlite = self._engine.dialect.name == "sqlite"
        # The embedded default ledger creates itself; a shared server is migrated on purpose.
        self._needs_upgrade = is_sqlite if auto_upgrade is None else auto_upgrade
        self._batch_size = batch_size
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._poll_interval = poll_interval
        self._settle = settle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._decisions_seen = DecisionDeduper()
        if start:
            self.start()

    # --- construction from a Freqtrade config ----------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        strategy_version: str | None = None,
        known_pairs: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> TradeMirror:
        """A mirror with the ledger URL and outbox path resolved from ``config``/environment."""
        url = resolve_ledger_url(None, config)
        db_url = config.get("db_url")
        if isinstance(db_url, str) and db_url.strip() == url.strip():
            raise LedgerConfigError(
                f"the ledger URL {safe_url(url)} is Freqtrade's own db_url; both have a 'trades' "
                "table. Give the ledger its own database (tribar.ledger_url / TRIBAR_LEDGER_URL)."
            )
        auto = tribar_setting(config, "ledger_auto_upgrade")
        if auto is not None and not isinstance(auto, bool):
            raise LedgerConfigError(
                f"config key tribar.ledger_auto_upgrade must be true or false, got {auto!r}"
            )
        kwargs.setdefault("auto_upgrade", auto)
        context = context_from_config(
            config, strategy_version=strategy_version, known_pairs=known_pairs
        )
        return cls(url, resolve_outbox_path(config), context, **kwargs)

    @classmethod
    def for_strategy(
        cls, config: Mapping[str, Any], *, strategy_version: str | None = None, **kwargs: Any
    ) -> TradeMirror | None:
        """The mirror for a strategy's ``bot_start``: None in backtesting/hyperopt/etc. or when
        ``tribar.ledger_enabled`` is false (backtest trades are imported from result files)."""
        runmode = config.get("runmode")
        mode = str(getattr(runmode, "value", runmode) or "")
        enabled = tribar_setting(config, "ledger_enabled")
        if enabled is False or mode not in _BOT_RUNMODES:
            return None
        return cls.from_config(config, strategy_version=strategy_version, **kwargs)

    # --- bot thread ------------------------------------------------------------------------

    def record_trade(self, trade: Any) -> bool:
        """Queue a closed Freqtrade trade. False for open trades or if even the outbox failed.

        Reads the trade on the calling thread (Freqtrade's session is per thread); never raises.
        """
        try:
            if getattr(trade, "is_open", False):
                return False
            facts = facts_from_trade(trade)
        except Exception as exc:
            return self._record_failure(f"cannot read trade {_safe_repr(trade)}", exc)
        return self.record_facts(facts)

    def record_facts(self, facts: TradeFacts) -> bool:
        """Queue a trade described by ``facts`` (the row is built and validated here)."""
        try:
            try:
                row = build_row(facts, self.context)
            except InvalidTradeRow as bad:
                payload = json.dumps(facts_to_payload(facts), allow_nan=False)
                self.outbox.append("dead", payload, trade_id=facts.trade_id, reason=bad.reason)
                log.warning(
                    "ledger: trade %s is invalid and goes to dead letters: %s",
                    facts.trade_id,
                    bad.reason,
                )
            else:
                self.outbox.append("row", row_to_json(row), trade_id=facts.trade_id)
            self.stats.recorded += 1
            self._wake.set()
            return True
        except Exception as exc:
            return self._record_failure(f"cannot queue trade {facts.trade_id}", exc)

    def record_decision(self, decision: Any) -> bool:
        """Queue a risk decision that refused or resized an entry (a ``RiskManager`` decision
        listener). False when there is nothing to write: allowed at full size, or a repeat of a
        decision already queued for the same pair, signal candle and outcome
        (``decision_rows``). Never raises; one small local append, no network."""
        try:
            row = build_decision_row(decision, self.context)
            if row is None or not self._decisions_seen.first(row["decision_key"]):
                return False
            try:
                self.outbox.append(
                    "decision", decision_row_to_json(row), trade_id=row["decision_key"]
                )
            except Exception:
                self._decisions_seen.forget(row["decision_key"])  # the next repeat tries again
                raise
            self.stats.decisions_recorded += 1
            self._wake.set()
            return True
        except Exception as exc:
            return self._record_failure(f"cannot queue decision {_safe_repr(decision)}", exc)

    def _record_failure(self, what: str, exc: Exception) -> bool:
        self.stats.record_failures += 1
        self.stats.last_error = f"{what}: {exc}"
        # The trade stays in Freqtrade's DB; `tribar ledger import --from-db` can backfill it.
        log.error("ledger: %s: %s", what, exc, exc_info=True)
        return False

    # --- delivery thread -------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="tribar-ledger-delivery", daemon=True
        )
        self._thread.start()
        atexit.register(self._close_at_exit)

    def _close_at_exit(self) -> None:
        self.close(timeout=2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._needs_upgrade:
                    ledger_migrate.upgrade(self.ledger_url)
                    self._needs_upgrade = False
                progressed = self._deliver_batch()
            except Exception as exc:
                self._on_transient(exc)
                continue
            if self._failures:
                log.info("ledger: %s reachable again", safe_url(self.ledger_url))
                self._failures = 0
            if not progressed:
                self._checkpoint_quietly()
                woken = self._wake.wait(self._poll_interval)
                self._wake.clear()
                if woken:
                    # Let the bot thread finish its loop (several trades may close at once)
                    # before competing with it for the GIL; 50 ms do not matter to a ledger.
                    self._stop.wait(self._settle)

    def _on_transient(self, exc: Exception) -> None:
        self._failures += 1
        self.stats.delivery_failures += 1
        self.stats.last_error = describe_error(exc, self.ledger_url)
        self._checkpoint_quietly()  # appends keep coming while the ledger is away
        delay = min(self._max_backoff, self._min_backoff * 2 ** min(self._failures - 1, 30))
        delay *= random.uniform(0.8, 1.0)  # de-synchronise bots sharing one server
        level = (
            logging.WARNING if self._failures == 1 or self._failures % 20 == 0 else logging.DEBUG
        )
        log.log(
            level,
            "ledger: delivery to %s failed (%s, attempt %d); %d queued, retry in %.1fs",
            safe_url(self.ledger_url),
            self.stats.last_error,
            self._failures,
            self._pending_quietly(),
            delay,
        )
        self._stop.wait(delay)

    def _checkpoint_quietly(self) -> None:
        try:
            self.outbox.checkpoint()
        except Exception as exc:  # a busy or full disk: the next idle moment tries again
            log.debug("ledger: outbox checkpoint failed: %s", exc)

    def _pending_quietly(self) -> int:
        try:
            return self.outbox.count()
        except Exception:
            return -1

    def _deliver_batch(self) -> bool:
        entries = self.outbox.oldest(self._batch_size)
        if not entries:
            return False
        try:
            self._write(entries)
        except Exception as exc:
            if not is_permanent_error(exc):
                # Only the head entry: an outage must not rewrite the whole backlog per retry.
                self.outbox.note_failure([entries[0].seq], describe_error(exc))
                raise
            # Somewhere in the batch is a row the ledger refuses: find it one by one.
            for entry in entries:
                self._deliver_one(entry)
            return True
        self.outbox.remove([e.seq for e in entries])
        self._count(entries)
        return True

    def _deliver_one(self, entry: OutboxEntry) -> None:
        try:
            self._write([entry])
        except Exception as exc:
            if not is_permanent_error(exc):
                self.outbox.note_failure([entry.seq], describe_error(exc))
                raise
            self._write_dead_letter(
                entry, f"rejected by the ledger database: {describe_error(exc)}"
            )
            self.stats.dead_lettered += 1
        else:
            self._count([entry])
        self.outbox.remove([entry.seq])

    def _count(self, entries: list[OutboxEntry]) -> None:
        for e in entries:
            if e.kind == "row":
                self.stats.delivered += 1
            elif e.kind == "decision":
                self.stats.decisions_delivered += 1
            else:
                self.stats.dead_lettered += 1

    def _write(self, entries: list[OutboxEntry]) -> None:
        rows: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        dead: list[tuple[str | None, dict[str, Any], str]] = []
        for e in entries:
            if e.kind in ("row", "decision"):
                try:
                    if e.kind == "row":
                        rows.append(row_from_json(e.payload))
                    else:
                        decisions.append(decision_row_from_json(e.payload))
                except ValueError as exc:
                    dead.append(
                        (
                            e.trade_id,
                            _payload_or_text(e.payload),
                            f"unreadable outbox payload: {exc}",
                        )
                    )
            else:
                dead.append((e.trade_id, _payload_or_text(e.payload), e.reason or "invalid"))
        with self._engine.begin() as conn:
            upsert_rows(conn, rows, on_conflict="update")
            insert_decisions(conn, decisions)
            for trade_id, payload, reason in dead:
                insert_dead_letter(conn, trade_id, payload, reason)

    def _write_dead_letter(self, entry: OutboxEntry, reason: str) -> None:
        with self._engine.begin() as conn:
            insert_dead_letter(conn, entry.trade_id, _payload_or_text(entry.payload), reason)

    # --- shutdown --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the delivery thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def pending(self) -> int:
        """Entries in the outbox not yet confirmed by the ledger."""
        return self.outbox.count()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (at most ``timeout`` s) until the outbox is empty; True if it is."""
        deadline = time.monotonic() + timeout
        while True:
            if self.outbox.count() == 0:
                return True
            if time.monotonic() >= deadline or self._thread is None or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.02)

    def close(self, timeout: float = 5.0) -> bool:
        """Flush for up to ``timeout`` s, stop delivery, close files. Undelivered entries stay in
        the outbox for the next start. True if everything was delivered."""
        if self._closed:
            return True
        self._closed = True
        flushed = False
        if self._thread is not None:
            try:
                flushed = self.flush(timeout)
            except Exception as exc:
                log.error("ledger: flushing the outbox failed: %s", exc)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            # A delivery attempt in flight ends within the connect timeout.
            self._thread.join(timeout=10.0)
            atexit.unregister(self._close_at_exit)
        left = self._pending_quietly()
        if left:
            log.warning(
                "ledger: closing with %d entr(y/ies) queued in %s; they are delivered on "
                "the next start",
                left,
                self.outbox.path,
            )
        if self._thread is None or not self._thread.is_alive():
            self._engine.dispose()
            self.outbox.close()
        return flushed

    def __enter__(self) -> TradeMirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)[:200]
    except Exception:
        return f"<{type(obj).__name__} with a failing repr>"


def _payload_or_text(payload: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        return {"raw": payload}
    return data if isinstance(data, dict) else {"value": data}
