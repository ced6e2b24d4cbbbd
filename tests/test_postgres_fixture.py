from __future__ import annotations

import sqlalchemy as sa

from tribar.testing.postgres import PostgresServer


def test_postgres_fixture_writes_and_reads_a_row(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    meta = sa.MetaData()
    table = sa.Table(
        "probe",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("v", sa.Numeric(18, 8)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "v": "1.23456789"}])
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version()")).scalar_one()
        value = conn.execute(sa.select(table.c.v).where(table.c.id == 1)).scalar_one()
    assert "PostgreSQL" in version
    assert str(value) == "1.23456789"
    engine.dispose()


def test_server_survives_stop_and_start_with_its_data(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    engine = sa.create_engine(postgres_url, pool_pre_ping=True)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kept (x int)"))
        conn.execute(sa.text("INSERT INTO kept VALUES (7)"))
    engine.dispose()
    postgres_server.stop()
    assert not postgres_server.is_running()
    postgres_server.start()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT x FROM kept")).scalar_one() == 7
    engine.dispose()
