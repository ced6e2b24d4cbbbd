from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.ledger.ft_trades import make_trade
from tests.ledger.rows import sample_facts
from tribar.analysis.ledger.mirror import TradeMirror, context_from_config
from tribar.analysis.ledger.trade_rows import RowContext
from tribar.analysis.ledger.url import LedgerConfigError
from tribar.testing.postgres import PostgresServer

FAST = {"min_backoff": 0.05, "max_backoff": 0.4, "poll_interval": 0.05}
CTX = RowContext(source="dry_run", dry_run=True, bot_name="tribar")


def _query(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def _count(url: str) -> int:
    return int(_query(url, "SELECT COUNT(*) FROM trades")[0][0])


def _config(tmp_path: Path, **tribar: Any) -> dict[str, Any]:
    from freqtrade.enums import RunMode

    return {
        "bot_name": "tribar-test", "dry_run": True, "stake_currency": "USDT",
        "strategy": "TripleBarrierML", "user_data_dir": str(tmp_path / "user_data"),
        "exchange": {"name": "binance", "key": "k", "secret": "s"},
        "runmode": RunMode.DRY_RUN, "tribar": tribar,
    }  # fmt: skip


@pytest.fixture
def mirrors() -> Iterator[list[TradeMirror]]:
    """Mirrors made in a test, closed even when it fails."""
    made: list[TradeMirror] = []
    yield made
    for m in made:
        m.close(timeout=1)


def test_default_embedded_sqlite_ledger(
    tmp_path: Path, ft_db: str, mirrors: list[TradeMirror], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIBAR_LEDGER_URL", raising=False)
    config = _config(tmp_path)
    mirror = TradeMirror.from_config(config, strategy_version="1.2.0", **FAST)
    mirrors.append(mirror)
    trades = [make_trade(custom={"tribar_p_tp": 0.55 + i / 100}, close_rate=100_000.0 + 500 * i)
              for i in range(5)]  # fmt: skip
    for t in trades:
        assert mirror.record_trade(t) is True
    assert mirror.flush(timeout=20)
    url = f"sqlite:///{tmp_path / 'user_data' / 'tribar_ledger.sqlite'}"
    rows = _query(
        url,
        "SELECT trade_id, bot_name, strategy_version, config_hash, dry_run, source, "
        "model_confidence, net_pnl FROM trades ORDER BY model_confidence",
    )
    assert len(rows) == 5
    expected_hash = context_from_config(config).config_hash
    for row, trade in zip(rows, trades, strict=True):
        assert row.trade_id.startswith(f"ft:binance:BTC/USDT:{trade.id}:")
        assert (row.bot_name, row.strategy_version, row.source) == (
            "tribar-test",
            "1.2.0",
            "dry_run",
        )
        assert row.config_hash == expected_hash and row.dry_run in (1, True)
        assert float(row.net_pnl) == pytest.approx(trade.close_profit_abs)
    assert (tmp_path / "user_data" / "tribar_ledger_outbox.sqlite").is_file()
    assert mirror.stats.delivered == 5 and mirror.pending() == 0


def test_open_trades_are_ignored_and_garbage_never_raises(
    tmp_path: Path, ft_db: str, mirrors: list[TradeMirror]
) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    mirror = TradeMirror(url, tmp_path / "o.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    assert mirror.record_trade(make_trade(close_rate=None)) is False
    assert mirror.record_trade(object()) is False
    assert mirror.record_trade(None) is False

    class Hostile:
        is_open = False

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(f"no {name}")

        def __repr__(self) -> str:
            raise RuntimeError("no repr either")

    assert mirror.record_trade(Hostile()) is False
    assert mirror.stats.record_failures == 3 and mirror.pending() == 0


def test_replays_do_not_duplicate(tmp_path: Path, ft_db: str, mirrors: list[TradeMirror]) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    mirror = TradeMirror(url, tmp_path / "o.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    trade = make_trade()
    for _ in range(3):
        mirror.record_trade(trade)
    assert mirror.flush(timeout=20)
    assert _count(url) == 1


def test_invalid_trades_become_dead_letters(
    ledger_url: str, tmp_path: Path, mirrors: list[TradeMirror]
) -> None:
    mirror = TradeMirror(ledger_url, tmp_path / "o.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    assert mirror.record_facts(sample_facts(1, open_rate=float("nan")))
    assert mirror.record_facts(sample_facts(2, pair="NOPE/USDT"))  # fine without a market list
    strict = TradeMirror(ledger_url, tmp_path / "o2.sqlite",
                         RowContext("dry_run", dry_run=True, known_pairs=frozenset({"BTC/USDT"})),
                         **FAST)  # fmt: skip
    mirrors.append(strict)
    assert strict.record_facts(sample_facts(3, pair="NOPE/USDT"))
    assert mirror.flush(timeout=20) and strict.flush(timeout=20)
    letters = _query(
        ledger_url, "SELECT trade_id, reason FROM trade_dead_letters ORDER BY trade_id"
    )
    assert [(d.trade_id, d.reason) for d in letters] == [
        ("test:1", "open_rate is not finite: nan"),
        ("test:3", "unknown pair 'NOPE/USDT' (not in the exchange's markets)"),
    ]
    assert [r.trade_id for r in _query(ledger_url, "SELECT trade_id FROM trades")] == ["test:2"]
    assert mirror.stats.dead_lettered == 1 and mirror.stats.delivered == 1


@pytest.mark.postgres
def test_rows_the_database_refuses_become_dead_letters(
    pg_ledger_url: str, tmp_path: Path, mirrors: list[TradeMirror]
) -> None:
    mirror = TradeMirror(pg_ledger_url, tmp_path / "o.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    for i in range(5):
        mirror.record_facts(sample_facts(i))
    # Valid in Python, but rounds to 0 in NUMERIC(28,12) and fails CHECK (quantity > 0).
    mirror.record_facts(sample_facts(5, amount=1e-13, fills=()))
    assert mirror.flush(timeout=20)
    assert _count(pg_ledger_url) == 5
    letters = _query(pg_ledger_url, "SELECT trade_id, reason, payload FROM trade_dead_letters")
    assert len(letters) == 1 and letters[0].trade_id == "test:5"
    assert "ck_trades_quantity_positive" in letters[0].reason
    assert letters[0].payload["trade_id"] == "test:5"


@pytest.mark.postgres
def test_outage_loses_nothing(
    postgres_server: PostgresServer,
    pg_ledger_url: str,
    tmp_path: Path,
    ft_db: str,
    mirrors: list[TradeMirror],
) -> None:
    n = 40
    mirror = TradeMirror(pg_ledger_url, tmp_path / "outbox.sqlite", CTX, **FAST)
    mirrors.append(mirror)
    warm = make_trade(open_date=datetime(2025, 2, 1, tzinfo=UTC))
    assert mirror.record_trade(warm) and mirror.flush(timeout=20)
    trades = [make_trade(open_date=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=i))
              for i in range(n)]  # fmt: skip
    postgres_server.stop()
    try:
        assert not postgres_server.is_running()
        durations = []
        for t in trades:
            started = time.perf_counter()
            assert mirror.record_trade(t) is True
            durations.append(time.perf_counter() - started)
        # The bot thread never waits for the dead server (connect attempts are elsewhere).
        assert max(durations) < 0.25, max(durations)
        deadline = time.monotonic() + 10
        while mirror.stats.delivery_failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mirror.stats.delivery_failures >= 2  # it kept retrying
        assert mirror.pending() == n  # all held locally, none lost, none delivered
        assert not mirror.flush(timeout=0.3)
    finally:
        postgres_server.start()
    assert mirror.flush(timeout=30), mirror.stats
    rows = _query(pg_ledger_url, "SELECT COUNT(*), COUNT(DISTINCT trade_id) FROM trades")[0]
    assert tuple(rows) == (n + 1, n + 1)
    assert mirror.stats.delivered == n + 1


@pytest.mark.postgres
def test_a_restarted_mirror_delivers_leftovers_without_duplicates(
    postgres_server: PostgresServer,
    pg_ledger_url: str,
    tmp_path: Path,
    ft_db: str,
    mirrors: list[TradeMirror],
) -> None:
    outbox = tmp_path / "outbox.sqlite"
    trades = [make_trade(open_date=datetime(2025, 4, 1, tzinfo=UTC) + timedelta(hours=i))
              for i in range(12)]  # fmt: skip
    first = TradeMirror(pg_ledger_url, outbox, CTX, **FAST)
    mirrors.append(first)
    assert first.record_trade(trades[0]) and first.flush(timeout=20)
    postgres_server.stop()
    try:
        for t in trades:  # trades[0] again: a replay
            first.record_trade(t)
        first.record_facts(sample_facts(1, close_rate=float("inf")))  # dead letter, DB down
        assert first.close(timeout=0.3) is False  # "bot stops" while the ledger is down
        assert not first.running
    finally:
        postgres_server.start()
    assert _count(pg_ledger_url) == 1
    second = TradeMirror(pg_ledger_url, outbox, CTX, **FAST)
    mirrors.append(second)
    assert second.pending() == 13
    assert second.flush(timeout=30)
    assert _count(pg_ledger_url) == 12
    assert len(_query(pg_ledger_url, "SELECT * FROM trade_dead_letters")) == 1
    # The same trades once more (e.g. re-sent after a crash between commit and outbox delete).
    for t in trades[:5]:
        second.record_trade(t)
    assert second.flush(timeout=20)
    assert _count(pg_ledger_url) == 12


def test_for_strategy_only_in_bot_modes(tmp_path: Path, mirrors: list[TradeMirror]) -> None:
    from freqtrade.enums import RunMode

    config = _config(tmp_path)
    mirror = TradeMirror.for_strategy(config, **FAST)
    assert mirror is not None
    mirrors.append(mirror)
    assert mirror.context.source == "dry_run" and mirror.context.exchange == "binance"
    assert TradeMirror.for_strategy({**config, "runmode": RunMode.BACKTEST}) is None
    assert TradeMirror.for_strategy({**config, "runmode": RunMode.HYPEROPT}) is None
    assert TradeMirror.for_strategy(_config(tmp_path, ledger_enabled=False)) is None
    mapped = context_from_config(_config(tmp_path, ledger_exit_reasons={"roi": "take_profit"}))
    assert mapped.exit_reasons == {"roi": "take_profit"}


def test_config_mistakes_fail_at_start_not_in_the_loop(tmp_path: Path) -> None:
    config = _config(tmp_path, ledger_url="sqlite:///same.sqlite")
    with pytest.raises(LedgerConfigError, match="Freqtrade's own db_url"):
        TradeMirror.from_config({**config, "db_url": "sqlite:///same.sqlite"})
    with pytest.raises(LedgerConfigError, match="bot_name"):
        TradeMirror.from_config({**config, "bot_name": "x" * 100})
    with pytest.raises(LedgerConfigError, match="dry_run"):
        TradeMirror.from_config({**config, "dry_run": "yes"})
    with pytest.raises(LedgerConfigError, match="ledger_exit_reasons"):
        TradeMirror.from_config(_config(tmp_path, ledger_exit_reasons={"roi": "win"}))
    with pytest.raises(LedgerConfigError, match="ledger_auto_upgrade"):
        TradeMirror.from_config(_config(tmp_path, ledger_auto_upgrade="no"))


def test_cli_flush_delivers_a_stopped_bots_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tribar.cli import main

    ledger = tmp_path / "ledger.sqlite"
    outbox = tmp_path / "outbox.sqlite"
    config_file = tmp_path / "config.json"
    config_file.write_text(
        f'{{"dry_run": true, "tribar": {{"ledger_url": "sqlite:///{ledger}", '
        f'"ledger_outbox": "{outbox}"}}}}'
    )
    stopped = TradeMirror(f"sqlite:///{ledger}", outbox, CTX, start=False)  # bot died early
    for i in range(7):
        stopped.record_facts(sample_facts(i))
    stopped.close()
    assert main(["ledger", "status", "-c", str(config_file)]) == 0
    assert "7 row(s) and 0 dead letter(s) waiting" in capsys.readouterr().out
    assert main(["ledger", "flush", "-c", str(config_file), "--timeout", "20"]) == 0
    assert _count(f"sqlite:///{ledger}") == 7
    assert main(["ledger", "status", "-c", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "trades: 7" in out and "0 row(s)" in out
