from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.ledger.rows import sample_row
from tribar.analysis.ledger.bulk import write_rows
from tribar.analysis.ledger.db import (
    create_ledger_engine,
    describe_error,
    insert_dead_letter,
    is_permanent_error,
    upsert_rows,
)
from tribar.analysis.ledger.schema import trade_dead_letters, trades


def _count(conn: sa.Connection, table: sa.Table = trades) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_upsert_is_idempotent_and_updates_in_place(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    rows = [sample_row(i) for i in range(50)]
    with engine.begin() as conn:
        upsert_rows(conn, rows)
    with engine.connect() as conn:
        first = {r.trade_id: (r.id, r.recorded_at) for r in conn.execute(sa.select(trades))}
    with engine.begin() as conn:
        upsert_rows(conn, rows)  # replay
        changed = dict(rows[7], net_pnl=Decimal("123.4500000000"), exit_reason="manual")
        upsert_rows(conn, [changed])
    with engine.connect() as conn:
        assert _count(conn) == 50
        again = {r.trade_id: (r.id, r.recorded_at) for r in conn.execute(sa.select(trades))}
        row7 = conn.execute(sa.select(trades).where(trades.c.trade_id == rows[7]["trade_id"])).one()
        total = conn.execute(sa.select(sa.func.sum(trades.c.net_pnl))).scalar_one()
    assert again == first  # same ids, first-recorded time kept
    assert row7.net_pnl == Decimal("123.45") and row7.exit_reason == "manual"
    expected = sum(float(r["net_pnl"]) for r in rows) - float(rows[7]["net_pnl"]) + 123.45
    assert float(total) == pytest.approx(expected)
    engine.dispose()


def test_ignore_mode_keeps_existing_rows(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    with engine.begin() as conn:
        upsert_rows(conn, [sample_row(1)])
        upsert_rows(conn, [dict(sample_row(1), bot_name="other")], on_conflict="ignore")
        assert conn.execute(sa.select(trades.c.bot_name)).scalar_one() == "tribar"
    engine.dispose()


def test_bulk_write_counts_new_rows_and_dedupes(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    rows = [sample_row(i) for i in range(300)]
    with engine.begin() as conn:
        first = write_rows(conn, rows[:200], batch_size=64)
    with engine.begin() as conn:
        second = write_rows(conn, rows + rows[:10], batch_size=64)
    with engine.begin() as conn:
        replaced = write_rows(conn, rows[:5], on_conflict="update")
        assert _count(conn) == 300
    assert (first.submitted, first.written) == (200, 200)
    assert (second.submitted, second.written) == (300, 100)
    assert replaced.written == 5 and not replaced.rejected
    engine.dispose()


@pytest.mark.postgres
def test_database_rejections_are_isolated_and_permanent(pg_ledger_url: str) -> None:
    engine = create_ledger_engine(pg_ledger_url)
    good = [sample_row(i) for i in range(20)]
    # Passes Python validation but rounds to 0 in NUMERIC(28,12): the CHECK quantity > 0 fires.
    bad = dict(sample_row(99), quantity=Decimal("1E-13"))
    with engine.begin() as conn:
        result = write_rows(conn, [*good[:10], bad, *good[10:]])
    assert result.written == 20 and len(result.rejected) == 1
    assert result.rejected[0][0]["trade_id"] == "test:99"
    assert "quantity_positive" in result.rejected[0][1]
    with engine.connect() as conn:
        assert _count(conn) == 20
    with pytest.raises(sa.exc.IntegrityError) as err, engine.begin() as conn:
        upsert_rows(conn, [dict(sample_row(5), side="sideways")])
    assert is_permanent_error(err.value)
    assert "ck_trades_side" in describe_error(err.value)
    engine.dispose()


def test_connection_errors_are_not_permanent(tmp_path: object) -> None:
    from tribar.testing.postgres import free_loopback_port

    engine = create_ledger_engine(
        f"postgresql+psycopg2://nobody@127.0.0.1:{free_loopback_port()}/x", connect_timeout=1
    )
    with pytest.raises(sa.exc.OperationalError) as err:
        engine.connect()
    assert not is_permanent_error(err.value)
    engine.dispose()


def test_dead_letters_are_stored_once(ledger_url: str) -> None:
    engine = create_ledger_engine(ledger_url)
    payload = {"open_rate": "NaN", "pair": "BTC/USDT"}
    with engine.begin() as conn:
        assert insert_dead_letter(conn, "t-1", payload, "open_rate is not finite: nan")
        assert not insert_dead_letter(conn, "t-1", payload, "open_rate is not finite: nan")
        assert insert_dead_letter(conn, None, {"raw": "?"}, "unreadable")
        assert not insert_dead_letter(conn, None, {"raw": "?"}, "unreadable")
    with engine.connect() as conn:
        letters = conn.execute(
            sa.select(trade_dead_letters).order_by(trade_dead_letters.c.id)
        ).all()
    assert [(d.trade_id, d.reason) for d in letters] == [
        ("t-1", "open_rate is not finite: nan"), (None, "unreadable")
    ]  # fmt: skip
    assert letters[0].payload == payload
    engine.dispose()


@pytest.mark.postgres
def test_copy_keeps_awkward_text_and_nulls_exact(pg_ledger_url: str) -> None:
    from tribar.analysis.ledger.trade_rows import RowContext

    odd = 'tab\there, back\\slash, new\nline, cr\r, \\N, quote\' "dq", ünïcode €'
    ctx = RowContext(source="import", dry_run=False, bot_name=odd[:64], strategy_version="")
    rows = [sample_row(i, ctx) for i in range(3)]
    rows[1] = dict(rows[1], exit_reason=None, model_confidence=None, volume_24h=None)
    engine = create_ledger_engine(pg_ledger_url)
    with engine.begin() as conn:
        assert write_rows(conn, rows).written == 3
    with engine.connect() as conn:
        got = {r.trade_id: r for r in conn.execute(sa.select(trades))}
    engine.dispose()
    for row in rows:
        back = got[row["trade_id"]]
        for name, value in row.items():
            stored = getattr(back, name)
            if isinstance(value, Decimal):  # rounded to the column's scale
                assert stored == value.quantize(Decimal(1).scaleb(-trades.c[name].type.scale)), name
            elif isinstance(value, float):
                assert stored == pytest.approx(value, rel=1e-15), name
            else:
                assert stored == value, name
    assert got["test:0"].bot_name == odd[:64] and got["test:0"].strategy_version == ""
    assert got["test:1"].exit_reason is None and got["test:1"].model_confidence is None
