"""Alembic migrations of the ledger, run from Python (``tribar db upgrade``), no alembic.ini.

The scripts live in the package (``tribar/analysis/ledger/migrations``); Alembic gets an open
connection instead of a URL. The version table has a tribar-specific name so a database that
already uses Alembic for something else is not confused with the ledger.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from tribar.analysis.ledger.db import create_ledger_engine
from tribar.analysis.ledger.url import LedgerConfigError, safe_url

VERSION_TABLE = "tribar_ledger_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Serialises concurrent upgrades (two bots starting at once) on PostgreSQL.
_ADVISORY_LOCK_ID = 0x7472_6962_6172  # "tribar"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Paths may contain spaces; split version locations on os.pathsep (Alembic >= 1.16).
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no ledger migrations found in {MIGRATIONS_DIR / 'versions'}")
    return head


def _check_not_foreign(conn: Connection, url: str) -> None:
    """Refuse a database whose ``trades`` table is not ours (e.g. Freqtrade's trades DB)."""
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if VERSION_TABLE in tables or "trades" not in tables:
        return
    columns = {c["name"] for c in inspector.get_columns("trades")}
    hint = " It looks like Freqtrade's own trades database." if "pair" in columns else ""
    raise LedgerConfigError(
        f"the database at {safe_url(url)} already has a 'trades' table that is not a tribar "
        f"ledger (no {VERSION_TABLE} table).{hint} Point the ledger at its own database "
        "(--url, TRIBAR_LEDGER_URL or tribar.ledger_url)."
    )


def _run(url: str, action: str, revision: str) -> str | None:
    engine = create_ledger_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})
            _check_not_foreign(conn, url)
            cfg = alembic_config(conn)
            if action == "upgrade":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
            return MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the ledger at ``url`` up to ``revision``; returns the revision it is now at."""
    return _run(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> str | None:
    """Migrate down to ``revision`` (``base`` drops the ledger tables)."""
    return _run(url, "downgrade", revision)


def current_revision(url: str) -> str | None:
    """The ledger's revision, or None if it was never migrated."""
    engine = create_ledger_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def make_revision(url: str, message: str) -> None:
    """For developers: autogenerate a new migration from the difference schema.py <-> ``url``."""
    engine = create_ledger_engine(url)
    try:
        with engine.begin() as conn:
            command.revision(alembic_config(conn), message=message, autogenerate=True)
    finally:
        engine.dispose()
