"""A durable local queue of ledger rows: SQLite in WAL mode, one file next to the bot.

The bot thread appends (one small INSERT + commit: tens of microseconds, no network); the
mirror's delivery thread reads the oldest entries and removes them only after the ledger
database committed them. Whatever is in the file survives crashes and restarts.

``synchronous=NORMAL`` (default) survives a crash of the bot process; a power loss may drop the
last commits, which ``tribar ledger import --from-db`` can backfill from Freqtrade's own
trades DB. ``synchronous=FULL`` makes each append wait for the disk as well.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Format 2 added the kind "decision" (an entry_decisions row); a format-1 file is upgraded in
# place when opened (its entries are kept).
OUTBOX_FORMAT = 2
Kind = Literal["row", "dead", "decision"]
Synchronous = Literal["OFF", "NORMAL", "FULL"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tribar_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('row', 'dead', 'decision')),
    trade_id   TEXT,
    payload    TEXT    NOT NULL,
    reason     TEXT,
    created_at REAL    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
)
"""


def _upgrade_from_format_1(conn: sqlite3.Connection) -> None:
    """Widen the kind CHECK (SQLite cannot alter one): copy into a new table, seq kept."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE tribar_outbox RENAME TO tribar_outbox_format_1")
        conn.execute(_SCHEMA)
        conn.execute("INSERT INTO tribar_outbox SELECT * FROM tribar_outbox_format_1")
        conn.execute("DROP TABLE tribar_outbox_format_1")
        conn.execute(f"PRAGMA user_version={OUTBOX_FORMAT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or has an unexpected format."""


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    kind: Kind
    trade_id: str | None
    payload: str
    reason: str | None
    created_at: float
    attempts: int
    last_error: str | None


class Outbox:
    """Thread-safe: one connection guarded by a lock (every operation is a few microseconds)."""

    def __init__(self, path: str | Path, synchronous: Synchronous = "NORMAL") -> None:
        if synchronous not in ("OFF", "NORMAL", "FULL"):
            raise ValueError(f"outbox synchronous must be OFF, NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: each statement is its own transaction unless we BEGIN.
            conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"outbox {self.path}: cannot switch to WAL mode (got {mode})")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            # A checkpoint copies the WAL into the file and syncs it (milliseconds). SQLite runs
            # it inside whichever commit crosses the threshold, which could be the bot thread's
            # append; instead the delivery thread calls checkpoint() on its own connection.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, OUTBOX_FORMAT):
                raise OutboxError(
                    f"outbox {self.path} has format {version}, this tribar reads {OUTBOX_FORMAT}"
                )
            if version == 1:
                _upgrade_from_format_1(conn)
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version={OUTBOX_FORMAT}")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._conn = conn
        self._synchronous = synchronous
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._writes_since_checkpoint = 0

    def append(
        self, kind: Kind, payload: str, trade_id: str | None = None, reason: str | None = None
    ) -> int:
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO tribar_outbox (kind, trade_id, payload, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (kind, trade_id, payload, reason, time.time()),
            )
            self._writes_since_checkpoint += 1
            return int(cur.lastrowid or 0)

    def oldest(self, limit: int) -> list[OutboxEntry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, kind, trade_id, payload, reason, created_at, attempts, last_error "
                "FROM tribar_outbox ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxEntry(*r) for r in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "DELETE FROM tribar_outbox WHERE seq = ?", [(s,) for s in seqs]
                )
                self._conn.execute("COMMIT")
                self._writes_since_checkpoint += 1
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def note_failure(self, seqs: Sequence[int], error: str) -> None:
        """Count a failed delivery attempt (for ``tribar ledger status``)."""
        if not seqs:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "UPDATE tribar_outbox SET attempts = attempts + 1, last_error = ? "
                    "WHERE seq = ?",
                    [(error, s) for s in seqs],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def count(self, kind: Kind | None = None) -> int:
        with self._lock:
            if kind is None:
                row = self._conn.execute("SELECT COUNT(*) FROM tribar_outbox").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM tribar_outbox WHERE kind = ?", (kind,)
                ).fetchone()
        return int(row[0])

    def checkpoint(self, min_writes: int = 200) -> tuple[int, int, int] | None:
        """Move the WAL into the database file once ``min_writes`` commits piled up; returns
        SQLite's (busy, WAL frames, frames copied), or None if it was not due.

        Runs on a second connection, so appends (which take the lock) are not held up; PASSIVE
        never waits for, nor blocks, a writer.
        """
        if self._writes_since_checkpoint < min_writes:
            return None
        if self._checkpoint_conn is None:
            self._checkpoint_conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._checkpoint_conn.execute(f"PRAGMA synchronous={self._synchronous}")
            self._checkpoint_conn.execute("PRAGMA wal_autocheckpoint=0")
        self._writes_since_checkpoint = 0
        busy, wal_frames, copied = self._checkpoint_conn.execute(
            "PRAGMA wal_checkpoint(PASSIVE)"
        ).fetchone()
        return int(busy), int(wal_frames), int(copied)

    def close(self) -> None:
        with self._lock:
            if self._checkpoint_conn is not None:
                self._checkpoint_conn.close()
            # The last connection to close checkpoints and removes the WAL file.
            self._conn.close()
