"""Entry decisions that refused or resized an entry (``entry_decisions``).

The strategy's decision listener writes one row per (bot, pair, signal candle, outcome) through
the mirror's outbox: see tribar.analysis.ledger.decision_rows and docs/ledger.md.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = sa.Numeric(28, 10)
_PRICE = sa.Numeric(28, 12)


def upgrade() -> None:
    op.create_table(
        "entry_decisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("decision_key", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signal_time", sa.DateTime(timezone=True)),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("sizing", sa.String(8)),
        sa.Column("proposed_stake", _MONEY),
        sa.Column("stake", _MONEY, nullable=False),
        sa.Column("min_stake", _MONEY),
        sa.Column("max_stake", _MONEY),
        sa.Column("equity", _MONEY),
        sa.Column("price", _PRICE),
        sa.Column("probability", sa.Float),
        sa.Column("payoff_ratio", sa.Float),
        sa.Column("kelly_fraction", sa.Float),
        sa.Column("volatility_scale", sa.Float),
        sa.Column("leverage", sa.Float),
        sa.Column("bot_name", sa.String(64)),
        sa.Column("strategy", sa.String(128)),
        sa.Column("strategy_version", sa.String(64)),
        sa.Column("config_hash", sa.String(64)),
        sa.Column("exchange", sa.String(32)),
        sa.Column("stake_currency", sa.String(16)),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(16), nullable=False, server_default="live"),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "side IS NULL OR side IN ('long', 'short')", name=op.f("ck_entry_decisions_side")
        ),
        sa.CheckConstraint("stake >= 0", name=op.f("ck_entry_decisions_stake_non_negative")),
        sa.CheckConstraint(
            "source IN ('live', 'dry_run', 'backtest', 'import')",
            name=op.f("ck_entry_decisions_source"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_decisions")),
        sa.UniqueConstraint("decision_key", name=op.f("uq_entry_decisions_decision_key")),
    )
    op.create_index(op.f("ix_entry_decisions_decided_at"), "entry_decisions", ["decided_at"])
    op.create_index(op.f("ix_entry_decisions_code_symbol"), "entry_decisions", ["code", "symbol"])


def downgrade() -> None:
    op.drop_index("ix_entry_decisions_code_symbol", table_name="entry_decisions")
    op.drop_index("ix_entry_decisions_decided_at", table_name="entry_decisions")
    op.drop_table("entry_decisions")
