"""The durable risk state in the bot's own trades database (dry-run and live only).

One small table, ``tribar_risk_state`` (``key`` VARCHAR(64) primary key, ``value`` TEXT,
``updated_at``), in the database of Freqtrade's ``db_url``:

* row ``tribar_risk_state``: the bot's ``RiskState`` (``tribar.risk.state``), written by the bot
  only, whenever the equity peak moves, a halt is added or removed, or the UTC day rolls;
* row ``tribar_risk_reset``: a pending operator reset (``tribar risk reset``), written by the
  CLI only and deleted by the bot once applied. Two rows with one writer each, so the bot's own
  writes can never overwrite a reset nobody has applied yet.

Why not Freqtrade's ``KeyValueStore``: its ``string_value`` is VARCHAR(255), which PostgreSQL
enforces, and a state with a few halts and their reasons is longer than that; it also writes
through Freqtrade's shared ORM session, whose transaction the bot owns. This table has a TEXT
column and its own engine and short transactions.

``RiskStateSync`` ties a ``RiskManager`` to the store: ``restore`` at ``bot_start``,
``apply_reset`` and ``save_if_changed`` in ``bot_loop_start``. None of its methods raise: a
corrupt value or an unreachable database is logged as an ERROR and keeps the bot HALTED.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from tribar.risk.circuit_breaker import Halt
from tribar.risk.clock import as_utc
from tribar.risk.manager import RiskManager
from tribar.risk.state import STATE_KEY, RiskState, RiskStateError, parse, serialise

logger = logging.getLogger(__name__)

TABLE_NAME = "tribar_risk_state"
RESET_KEY = "tribar_risk_reset"
RESET_VERSION = 1

# Breaker keys of the fail-safe halts; `tribar risk reset` lifts them.
HALT_CORRUPT_STATE = "corrupt_state"
HALT_STATE_UNREADABLE = "state_unreadable"
CORRUPT_STATE_REASON = "corrupt risk state"

_metadata = sa.MetaData()
risk_state_table = sa.Table(
    TABLE_NAME,
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class RiskStoreError(RuntimeError):
    """The database holding the risk state cannot be reached or written."""


@dataclass(frozen=True)
class ResetRequest:
    request_id: str
    reason: str
    requested_at: datetime


def serialise_reset(request: ResetRequest) -> str:
    return json.dumps(
        {
            "version": RESET_VERSION,
            "id": request.request_id,
            "reason": request.reason,
            "requested_at": request.requested_at.isoformat(),
        },
        sort_keys=True,
    )


def parse_reset(value: str) -> ResetRequest:
    def err(what: str) -> RiskStateError:
        return RiskStateError(f"key {RESET_KEY!r}: {what}")

    try:
        data = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise err(f"expected a JSON object, got {value!r:.80}") from exc
    if not isinstance(data, dict) or data.get("version") != RESET_VERSION:
        raise err(f"expected a JSON object with version {RESET_VERSION}, got {value!r:.80}")
    request_id, reason, at = data.get("id"), data.get("reason"), data.get("requested_at")
    if not isinstance(request_id, str) or not request_id or not isinstance(reason, str):
        raise err("expected non-empty string 'id' and string 'reason'")
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise err(f"requested_at: expected a timezone-aware ISO-8601 timestamp, got {at!r}")
    return ResetRequest(request_id, reason, moment)


def _engine_for(db_url: str) -> sa.Engine:
    kwargs: dict[str, Any] = {}
    if db_url.startswith("sqlite"):
        # The bot loop and FastAPI threads share the strategy; the wait rides out the moment
        # Freqtrade itself holds SQLite's write lock.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
    if db_url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = sa.pool.StaticPool
    try:
        return sa.create_engine(db_url, future=True, **kwargs)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise RiskStoreError(f"db_url {_safe(db_url)} is not a usable database URL: {exc}") from exc


def _safe(db_url: str) -> str:
    try:
        return sa.engine.make_url(db_url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparseable URL>"


class RiskStateStore:
    """Reads and writes the two rows; every database error becomes ``RiskStoreError``."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._table_ready = False

    @classmethod
    def from_url(cls, db_url: str) -> RiskStateStore:
        return cls(_engine_for(db_url))

    @property
    def where(self) -> str:
        return f"table {TABLE_NAME!r} in {self._engine.url.render_as_string(hide_password=True)}"

    def dispose(self) -> None:
        self._engine.dispose()

    def _run(self, what: str, body: Callable[[sa.Connection], Any]) -> Any:
        try:
            with self._engine.begin() as conn:
                return body(conn)
        except SQLAlchemyError as exc:
            raise RiskStoreError(f"cannot {what} ({self.where}): {exc}") from exc

    def ensure_table(self) -> None:
        if not self._table_ready:
            self._run("create the risk state table", lambda c: _metadata.create_all(c))
            self._table_ready = True

    def table_exists(self) -> bool:
        exists: bool = self._run(
            "inspect the database", lambda c: sa.inspect(c).has_table(TABLE_NAME)
        )
        return exists

    def _get(self, key: str) -> str | None:
        if not self._table_ready and not self.table_exists():
            return None
        stmt = sa.select(risk_state_table.c.value).where(risk_state_table.c.key == key)
        value: str | None = self._run(f"read {key!r}", lambda c: c.execute(stmt).scalar())
        return value

    def _put(self, key: str, value: str) -> None:
        self.ensure_table()
        now = datetime.now(UTC)
        table = risk_state_table

        def upsert(conn: sa.Connection) -> None:
            done = conn.execute(
                table.update().where(table.c.key == key).values(value=value, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(table.insert().values(key=key, value=value, updated_at=now))

        self._run(f"write {key!r}", upsert)

    def rows(self) -> dict[str, tuple[str, datetime]]:
        """Every row as key -> (value, updated_at); empty when the table does not exist."""
        if not self._table_ready and not self.table_exists():
            return {}
        table = risk_state_table
        stmt = sa.select(table.c.key, table.c.value, table.c.updated_at)
        found: list[Any] = self._run("read the risk state", lambda c: list(c.execute(stmt)))
        return {row.key: (row.value, as_utc(row.updated_at)) for row in found}

    def read_raw(self) -> str | None:
        return self._get(STATE_KEY)

    def load_state(self) -> RiskState | None:
        """The stored state, None if nothing is stored; ``RiskStateError`` if corrupt."""
        raw = self._get(STATE_KEY)
        return None if raw is None else parse(raw)

    def save_state(self, state: RiskState) -> None:
        self._put(STATE_KEY, serialise(state))

    def request_reset(self, reason: str, now: datetime | None = None) -> ResetRequest:
        """Record an operator reset; a newer request replaces one not yet applied."""
        request = ResetRequest(uuid.uuid4().hex, reason, as_utc(now or datetime.now(UTC)))
        self._put(RESET_KEY, serialise_reset(request))
        return request

    def pending_reset(self) -> ResetRequest | None:
        raw = self._get(RESET_KEY)
        return None if raw is None else parse_reset(raw)

    def discard_reset(self, raw_or_request: ResetRequest | str) -> bool:
        """Delete the reset row only if it still holds this request (or raw value): a request
        written after the bot read this one stays pending."""
        value = (
            serialise_reset(raw_or_request)
            if isinstance(raw_or_request, ResetRequest)
            else raw_or_request
        )
        table = risk_state_table
        stmt = table.delete().where(table.c.key == RESET_KEY, table.c.value == value)
        deleted: int = self._run("consume the reset request", lambda c: c.execute(stmt).rowcount)
        return deleted > 0

    def read_reset_raw(self) -> str | None:
        return self._get(RESET_KEY)


def _halt_identity(halts: tuple[Halt, ...]) -> tuple[tuple[str, datetime, datetime | None], ...]:
    # A held drawdown halt is re-tripped every loop with the current drawdown in its reason;
    # that alone is not worth a write.
    return tuple(sorted((h.key, h.since, h.until) for h in halts))


def _same(a: RiskState | None, b: RiskState) -> bool:
    return (
        a is not None
        and a.equity_peak == b.equity_peak
        and a.daily_loss_day == b.daily_loss_day
        and _halt_identity(a.halts) == _halt_identity(b.halts)
    )


class RiskStateSync:
    """Keeps one ``RiskManager`` and the store in step. Call from the bot loop only."""

    def __init__(
        self,
        store: RiskStateStore,
        manager: RiskManager,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._manager = manager
        self._announce = announce
        self._saved: RiskState | None = None
        self._day: date | None = None
        # While the stored value is corrupt it is kept for the operator to inspect
        # (`tribar risk status`); a reset replaces it.
        self._hold_writes = False
        self._restored = False

    @property
    def store(self) -> RiskStateStore:
        return self._store

    def current(self) -> RiskState:
        return RiskState(self._manager.equity_peak, tuple(self._manager.breaker.halts()), self._day)

    def restore(self, now: datetime) -> RiskState | None:
        """Load the stored state into the manager. Corrupt or unreadable: HALTED, logged."""
        now = as_utc(now)
        breaker = self._manager.breaker
        try:
            self._store.ensure_table()
            state = self._store.load_state()
        except RiskStateError as exc:
            logger.error(
                "tribar risk state: %s: %s; staying HALTED until `tribar risk reset`",
                self._store.where, exc,
            )  # fmt: skip
            self._hold_writes = True
            self._restored = True
            breaker.trip(CORRUPT_STATE_REASON, now, key=HALT_CORRUPT_STATE)
            return None
        except RiskStoreError as exc:
            logger.error("tribar risk state: %s; staying HALTED and retrying every loop", exc)
            breaker.trip(f"risk state unreadable: {exc}", now, key=HALT_STATE_UNREADABLE)
            return None
        self._restored = True
        breaker.clear(now, key=HALT_STATE_UNREADABLE)
        if state is None:
            logger.info("tribar risk state: nothing stored yet (%s)", self._store.where)
            return None
        self._manager.restore(state.equity_peak, state.halts)
        self._day = state.daily_loss_day
        self._saved = state
        halts = "; ".join(f"{h.key}: {h.reason}" for h in state.halts) or "none"
        logger.info(
            "tribar risk state restored from %s: equity peak %s, halts: %s",
            self._store.where, state.equity_peak, halts,
        )  # fmt: skip
        if state.halts and self._announce is not None:
            self._announce(f"Risk state restored after a restart: still HALTED: {halts}.")
        return state

    def apply_reset(self, now: datetime, equity: Any) -> ResetRequest | None:
        """Apply a pending ``tribar risk reset``: lift the drawdown, floor and fail-safe halts
        and re-base the peak on ``equity``. Returns the request applied, if any."""
        now = as_utc(now)
        if not self._restored:
            self.restore(now)
        try:
            raw = self._store.read_reset_raw()
            if raw is None:
                return None
            try:
                request = parse_reset(raw)
            except RiskStateError as exc:
                logger.error(
                    "tribar risk reset: %s: %s; request ignored (run `tribar risk reset` again)",
                    self._store.where, exc,
                )  # fmt: skip
                self._store.discard_reset(raw)
                return None
        except RiskStoreError as exc:
            logger.error("tribar risk reset: %s", exc)
            return None
        breaker = self._manager.breaker
        before = [h.reason for h in breaker.halts()]
        breaker.clear(now, key=HALT_CORRUPT_STATE)
        breaker.clear(now, key=HALT_STATE_UNREADABLE)
        status = self._manager.reset_halt(now, equity)
        self._hold_writes = False
        self._restored = True
        self.save_if_changed(now, force=True)
        try:
            self._store.discard_reset(request)
        except RiskStoreError as exc:
            # Applied anyway; a second application of the same request is harmless.
            logger.error("tribar risk reset: %s", exc)
        after = breaker.reason
        lifted = "; ".join(before) or "nothing was halted"
        text = (
            f"Risk reset by operator ({request.reason!r}, requested "
            f"{request.requested_at.isoformat()}): lifted {lifted}; equity peak now "
            f"{status.peak if status.peak is None else round(status.peak, 2)}; "
            + (f"still HALTED: {after}." if after else "ACTIVE.")
        )
        logger.warning("tribar %s", text)
        if self._announce is not None:
            self._announce(text)
        return request

    def save_if_changed(self, now: datetime, *, force: bool = False) -> bool:
        """Write the state when the peak, the set of halts or the UTC day changed."""
        self._day = as_utc(now).date()
        if self._hold_writes or not self._restored:
            if not self._restored:
                self.restore(now)
            return False
        state = self.current()
        if not force and _same(self._saved, state):
            return False
        try:
            self._store.save_state(state)
        except RiskStoreError as exc:
            logger.error("tribar risk state not saved (retrying next loop): %s", exc)
            return False
        self._saved = state
        return True
