"""Alembic environment of the trade ledger, run programmatically by tribar.analysis.ledger.migrate.

The caller hands over an open connection (``config.attributes["connection"]``), so no URL (and
no password) ever goes through Alembic's ini-style config.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from tribar.analysis.ledger.migrate import VERSION_TABLE
from tribar.analysis.ledger.schema import metadata

config = context.config


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # The ledger may share a database with other tables: only ours are compared or changed.
    if type_ == "table":
        return name in metadata.tables
    return True


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the ledger migrations run through tribar (tribar db upgrade), which passes a "
            "connection; the alembic command line is not configured for them"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported for the ledger")
run_migrations_online()
