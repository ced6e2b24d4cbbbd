from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tribar.analysis.ledger.outbox import Outbox, OutboxError


def test_entries_survive_reopening_until_removed(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    box = Outbox(path)
    seqs = [box.append("row", f'{{"n": {i}}}', trade_id=f"t{i}") for i in range(5)]
    box.append("dead", "{}", trade_id="bad", reason="open_rate is not finite")
    box.close()

    box = Outbox(path)
    entries = box.oldest(10)
    assert [e.trade_id for e in entries] == ["t0", "t1", "t2", "t3", "t4", "bad"]
    assert entries[-1].kind == "dead" and entries[-1].reason == "open_rate is not finite"
    box.note_failure(seqs[:2], "connection refused")
    box.remove(seqs[2:])
    assert box.count() == 3 and box.count("row") == 2 and box.count("dead") == 1
    first = box.oldest(1)[0]
    assert first.attempts == 1 and first.last_error == "connection refused"
    box.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_concurrent_appends_are_all_kept(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")

    def writer(k: int) -> None:
        for i in range(200):
            box.append("row", "{}", trade_id=f"{k}-{i}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.count() == 800
    assert len({e.trade_id for e in box.oldest(1000)}) == 800
    box.close()


def test_bad_files_are_reported(tmp_path: Path) -> None:
    not_db = tmp_path / "garbage.sqlite"
    not_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutboxError, match=r"garbage\.sqlite"):
        Outbox(not_db)
    future = tmp_path / "future.sqlite"
    conn = sqlite3.connect(future)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(OutboxError, match="format 99"):
        Outbox(future)
    with pytest.raises(ValueError, match="synchronous"):
        Outbox(tmp_path / "x.sqlite", synchronous="SOMETIMES")  # type: ignore[arg-type]


def test_the_bot_thread_never_checkpoints_the_delivery_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = Outbox(path)
    for i in range(300):
        box.append("row", "x" * 500, trade_id=str(i))
    wal = path.with_name(path.name + "-wal")
    # No automatic checkpoint ran during the appends: everything is still in the WAL.
    assert wal.stat().st_size > 300 * 500
    assert box.checkpoint(min_writes=1000) is None  # not due yet
    busy, frames, copied = box.checkpoint(min_writes=100) or (1, 0, -1)
    assert busy == 0 and frames == copied > 0
    box.remove([e.seq for e in box.oldest(300)])
    assert box.count() == 0
    box.close()
