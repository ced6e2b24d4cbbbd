from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tribar.analysis.ledger import migrate as ledger_migrate
from tribar.analysis.ledger.schema import metadata
from tribar.analysis.ledger.url import ENV_VAR, LedgerConfigError
from tribar.cli import main

LEDGER_TABLES = {"trades", "trade_dead_letters"}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "version_table": ledger_migrate.VERSION_TABLE,
                },
            )
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def test_up_down_up(ledger_url: str) -> None:
    head = ledger_migrate.head_revision()
    assert ledger_migrate.current_revision(ledger_url) == head
    assert _tables(ledger_url) >= LEDGER_TABLES
    assert ledger_migrate.downgrade(ledger_url, "base") is None
    assert not LEDGER_TABLES & _tables(ledger_url)
    assert ledger_migrate.current_revision(ledger_url) is None
    assert ledger_migrate.upgrade(ledger_url) == head
    assert ledger_migrate.upgrade(ledger_url) == head  # idempotent
    assert _tables(ledger_url) >= LEDGER_TABLES


def test_migrated_schema_equals_schema_py(ledger_url: str) -> None:
    assert _diff(ledger_url) == []


@pytest.mark.postgres
def test_postgres_has_the_indexes_and_checks(pg_ledger_url: str) -> None:
    engine = sa.create_engine(pg_ledger_url)
    with engine.connect() as conn:
        indexes = set(conn.execute(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'trades'"
        )).scalars())  # fmt: skip
        checks = set(conn.execute(sa.text(
            "SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'trades'::regclass AND contype = 'c'"
        )).scalars())  # fmt: skip
        types = dict(conn.execute(sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'trades'"
        )).all())  # fmt: skip
    engine.dispose()
    assert {"ix_trades_timestamp", "ix_trades_symbol", "ix_trades_net_pnl",
            "uq_trades_trade_id", "pk_trades"} <= indexes  # fmt: skip
    assert {"ck_trades_side", "ck_trades_exit_reason", "ck_trades_model_confidence",
            "ck_trades_execution_type", "ck_trades_prices_positive"} <= checks  # fmt: skip
    assert types["net_pnl"] == "numeric" and types["entry_price"] == "numeric"
    assert types["entry_time"] == "timestamp with time zone"


def test_cli_db_commands(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "downgrade", "base", "--url", ledger_url]) == 0
    assert "base" in capsys.readouterr().out
    assert main(["db", "current", "--url", ledger_url]) == 0
    assert "not migrated" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", ledger_url]) == 0
    assert ledger_migrate.head_revision() in capsys.readouterr().out
    assert main(["db", "current", "--url", ledger_url]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["db", "downgrade", "no-such-rev", "--url", ledger_url]) == 2
    assert "no-such-rev" in capsys.readouterr().err


def test_cli_reads_the_url_from_env_then_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    env_db = tmp_path / "env.sqlite"
    cfg_db = tmp_path / "cfg.sqlite"
    (tmp_path / "config.json").write_text(f'{{"tribar": {{"ledger_url": "sqlite:///{cfg_db}"}}}}')
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{env_db}")
    assert main(["db", "upgrade"]) == 0
    assert "trades" in _tables(f"sqlite:///{env_db}") and not cfg_db.exists()
    monkeypatch.delenv(ENV_VAR)
    assert main(["db", "upgrade", "-c", str(tmp_path / "config.json")]) == 0
    assert "trades" in _tables(f"sqlite:///{cfg_db}")
    monkeypatch.chdir(tmp_path / "..")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    assert main(["db", "upgrade"]) == 0  # default: ./user_data/tribar_ledger.sqlite
    assert (tmp_path / "empty" / "user_data" / "tribar_ledger.sqlite").is_file()
    capsys.readouterr()
    assert main(["db", "upgrade", "--url", "mysql://x@y/z"]) == 2
    assert "supports sqlite and postgresql" in capsys.readouterr().err


def test_refuses_freqtrades_own_trades_db(ft_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(LedgerConfigError, match="Freqtrade's own trades database"):
        ledger_migrate.upgrade(ft_db)
    assert main(["db", "upgrade", "--url", ft_db]) == 2
    assert "not a tribar ledger" in capsys.readouterr().err


@pytest.mark.postgres
def test_unreachable_server_is_a_clear_failure(capsys: pytest.CaptureFixture[str]) -> None:
    from tribar.testing.postgres import free_loopback_port

    url = f"postgresql+psycopg2://nobody@127.0.0.1:{free_loopback_port()}/x"
    assert main(["db", "upgrade", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "tribar db upgrade:" in err and "OperationalError" in err
