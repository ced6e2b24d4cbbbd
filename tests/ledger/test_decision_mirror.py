"""Refused and resized entry decisions reach the ledger's entry_decisions table through the
mirror's durable outbox: nothing lost while PostgreSQL is down, no duplicates, and
``tribar ledger decisions`` lists them by reason and pair."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.ledger.rows import sample_facts
from tribar.analysis.ledger import migrate as ledger_migrate
from tribar.analysis.ledger.mirror import TradeMirror
from tribar.analysis.ledger.outbox import OUTBOX_FORMAT, Outbox
from tribar.analysis.ledger.trade_rows import RowContext
from tribar.risk import EntryRequest, RiskLimits, RiskManager
from tribar.testing.postgres import PostgresServer

FAST = {"min_backoff": 0.05, "max_backoff": 0.4, "poll_interval": 0.05}
CTX = RowContext(source="dry_run", dry_run=True, bot_name="tribar", exchange="binance")
START = datetime(2025, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _query(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


@pytest.fixture
def mirrors() -> Iterator[list[TradeMirror]]:
    made: list[TradeMirror] = []
    yield made
    for m in made:
        m.close(timeout=1)


def _refusals(mgr: RiskManager, pair: str, candles: int, loops: int) -> list[Any]:
    """``loops`` bot loops (5 s apart) on each of ``candles`` hourly signal candles."""
    out = []
    for c in range(candles):
        for i in range(loops):
            now = START + c * HOUR + timedelta(seconds=5 * i)
            out.append(mgr.decide(EntryRequest(
                pair=pair, time=now, sizing="fixed", equity=1000.0, proposed_stake=50.0,
                max_stake=900.0, signal_time=START + (c - 1) * HOUR, timeframe=HOUR,
            )))  # fmt: skip
    return out


@pytest.mark.postgres
def test_migrations_0001_to_0004_apply_one_by_one(pg_ledger_url: str) -> None:
    assert ledger_migrate.head_revision() == "0004"
    assert ledger_migrate.downgrade(pg_ledger_url, "base") is None
    for rev in ("0001", "0002", "0003", "0004"):
        assert ledger_migrate.upgrade(pg_ledger_url, rev) == rev
    (unique,) = _query(pg_ledger_url, "SELECT indexdef FROM pg_indexes "
                       "WHERE indexname = 'uq_entry_decisions_decision_key'")[0]  # fmt: skip
    assert "UNIQUE" in unique and "(decision_key)" in unique
    assert ledger_migrate.downgrade(pg_ledger_url, "0003") == "0003"
    tables = {r[0] for r in _query(pg_ledger_url, "SELECT tablename FROM pg_tables")}
    assert "entry_decisions" not in tables and "trades" in tables


@pytest.mark.postgres
def test_decisions_made_while_postgres_is_down_arrive_once_it_is_back(
    postgres_server: PostgresServer,
    pg_ledger_url: str,
    tmp_path: Path,
    mirrors: list[TradeMirror],
) -> None:
    mgr = RiskManager(RiskLimits(blacklist_symbols=["DOGE/.*"]))
    outbox = tmp_path / "outbox.sqlite"
    first = TradeMirror(pg_ledger_url, outbox, CTX, **FAST)
    mirrors.append(first)
    mgr.add_decision_listener(first.record_decision)
    _refusals(mgr, "DOGE/USDT", candles=1, loops=3)
    assert first.flush(timeout=20)
    postgres_server.stop()
    try:
        assert not postgres_server.is_running()
        started = time.perf_counter()
        # 10 candles x 60 loops refused for the same reason: 600 decisions, 10 rows.
        decisions = _refusals(mgr, "DOGE/USDT", candles=10, loops=60)
        # The bot thread never waits for the dead server.
        assert time.perf_counter() - started < 5.0
        assert all(d.refused and d.code == "blacklist_symbols" for d in decisions)
        first.record_facts(sample_facts(1))  # a trade in the same outbox, same outage
        deadline = time.monotonic() + 10
        while first.stats.delivery_failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.stats.delivery_failures >= 2
        # 9 decisions (candle 0 repeats the one delivered before the outage) and the trade.
        assert first.pending() == 10
        assert first.close(timeout=0.3) is False  # the bot stops while the ledger is down
    finally:
        postgres_server.start()
    rows = _query(pg_ledger_url, "SELECT COUNT(*) FROM entry_decisions")
    assert rows[0][0] == 1  # only what was delivered before the outage
    second = TradeMirror(pg_ledger_url, outbox, CTX, **FAST)
    mirrors.append(second)
    assert second.pending() == 10
    assert second.flush(timeout=30), second.stats
    got = _query(
        pg_ledger_url,
        "SELECT COUNT(*), COUNT(DISTINCT decision_key), COUNT(DISTINCT signal_time), "
        "MIN(code), MAX(code), BOOL_OR(allowed) FROM entry_decisions",
    )[0]
    assert tuple(got) == (10, 10, 10, "blacklist_symbols", "blacklist_symbols", False)
    assert _query(pg_ledger_url, "SELECT COUNT(*) FROM trades")[0][0] == 1
    # A restarted bot refusing the same candles again (its in-memory dedup is empty): the
    # ledger's unique key keeps one row each.
    mgr.add_decision_listener(second.record_decision)
    _refusals(mgr, "DOGE/USDT", candles=10, loops=2)
    assert second.flush(timeout=20)
    assert _query(pg_ledger_url, "SELECT COUNT(*) FROM entry_decisions")[0][0] == 10
    assert second.stats.decisions_delivered == 9 + 10  # the repeats were sent, and ignored


def test_a_format_1_outbox_is_upgraded_with_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE tribar_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('row', 'dead')),
            trade_id TEXT, payload TEXT NOT NULL, reason TEXT, created_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
        INSERT INTO tribar_outbox (kind, trade_id, payload, created_at) VALUES
            ('row', 't1', '{}', 1.0), ('dead', 't2', '{}', 2.0);
        PRAGMA user_version=1;
        """
    )
    conn.close()
    box = Outbox(path)
    try:
        assert [(e.seq, e.kind, e.trade_id) for e in box.oldest(10)] == [
            (1, "row", "t1"),
            (2, "dead", "t2"),
        ]
        assert box.append("decision", "{}", trade_id="k") == 3
        assert box.count("decision") == 1
    finally:
        box.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == OUTBOX_FORMAT == 2


def test_cli_lists_refusals_and_resizes_by_reason_and_pair(
    tmp_path: Path, mirrors: list[TradeMirror], capsys: pytest.CaptureFixture[str]
) -> None:
    from tribar.cli import main

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    mirror = TradeMirror(url, tmp_path / "outbox.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    mgr = RiskManager(RiskLimits(blacklist_symbols=["DOGE/.*"], max_position_value_usd=40.0))
    mgr.add_decision_listener(mirror.record_decision)
    _refusals(mgr, "DOGE/USDT", candles=3, loops=20)
    _refusals(mgr, "BTC/USDT", candles=2, loops=20)  # 50 fixed -> 40: resized
    assert mirror.flush(timeout=20)
    assert main(["ledger", "decisions", "--url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "outcome\treason\tpair\tsignals\tfirst\tlast"
    assert out[1].split("\t")[:4] == ["refused", "blacklist_symbols", "DOGE/USDT", "3"]
    assert out[2].split("\t")[:4] == ["resized", "max_position_value_usd", "BTC/USDT", "2"]
    assert any("DOGE/USDT matches blacklist_symbols" in line for line in out[4:])
    assert main(["ledger", "decisions", "--url", url, "--resized", "--rows", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "BTC/USDT" in out[1]
    assert main(["ledger", "decisions", "--url", url, "--pair", "ETH/USDT"]) == 0
    assert "no refused or resized entries" in capsys.readouterr().out
    assert main(["ledger", "decisions", "--url", url, "--since", "June"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["ledger", "status", "--url", url]) == 0
    assert "refused/resized entry decisions: 5" in capsys.readouterr().out
