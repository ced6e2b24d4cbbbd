"""Initial ledger schema: trades and trade_dead_letters.

Indexes are separate CREATE INDEX statements (PostgreSQL has no inline INDEX clause).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trade_dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trade_id", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_dead_letters")),
    )
    op.create_table(
        "trades",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trade_id", sa.String(length=128), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("entry_price", sa.Numeric(precision=28, scale=12), nullable=False),
        sa.Column("exit_price", sa.Numeric(precision=28, scale=12), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=28, scale=12), nullable=False),
        sa.Column("pnl_usdt", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("pnl_pct", sa.Float(), nullable=False),
        sa.Column("commission", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("net_pnl", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("model_confidence", sa.Float(), nullable=True),
        sa.Column("predicted_direction", sa.String(length=8), nullable=True),
        sa.Column("actual_direction", sa.String(length=8), nullable=True),
        sa.Column("slippage_bps", sa.Float(), nullable=True),
        sa.Column("order_latency_ms", sa.Float(), nullable=True),
        sa.Column("execution_type", sa.String(length=8), nullable=True),
        sa.Column("market_volatility", sa.Float(), nullable=True),
        sa.Column("spread_bps", sa.Float(), nullable=True),
        sa.Column("volume_24h", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("exit_reason", sa.String(length=32), nullable=True),
        sa.Column("strategy_version", sa.String(length=64), nullable=True),
        sa.Column("config_hash", sa.String(length=64), nullable=True),
        sa.Column("entry_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bot_name", sa.String(length=64), nullable=True),
        sa.Column("strategy", sa.String(length=128), nullable=True),
        sa.Column("exchange", sa.String(length=32), nullable=True),
        sa.Column("stake_currency", sa.String(length=16), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), server_default="live", nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "actual_direction IS NULL OR actual_direction IN ('up', 'down', 'flat')",
            name=op.f("ck_trades_actual_direction"),
        ),
        sa.CheckConstraint(
            "execution_type IS NULL OR execution_type IN ('maker', 'taker')",
            name=op.f("ck_trades_execution_type"),
        ),
        sa.CheckConstraint(
            "exit_reason IS NULL OR exit_reason IN ('take_profit', 'stop_loss', "
            "'trailing_stop_loss', 'timeout', 'roi', 'exit_signal', 'manual', 'force_exit', "
            "'liquidation', 'other')",
            name=op.f("ck_trades_exit_reason"),
        ),
        sa.CheckConstraint(
            "predicted_direction IS NULL OR predicted_direction IN ('up', 'down', 'flat')",
            name=op.f("ck_trades_predicted_direction"),
        ),
        sa.CheckConstraint(
            "side IS NULL OR side IN ('long', 'short')", name=op.f("ck_trades_side")
        ),
        sa.CheckConstraint(
            "source IN ('live', 'dry_run', 'backtest', 'import')", name=op.f("ck_trades_source")
        ),
        sa.CheckConstraint("commission >= 0", name=op.f("ck_trades_commission_non_negative")),
        sa.CheckConstraint(
            "entry_price > 0 AND exit_price > 0", name=op.f("ck_trades_prices_positive")
        ),
        sa.CheckConstraint("exit_time >= entry_time", name=op.f("ck_trades_exit_after_entry")),
        sa.CheckConstraint(
            "model_confidence IS NULL OR (model_confidence >= 0 AND model_confidence <= 1)",
            name=op.f("ck_trades_model_confidence"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_trades_quantity_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint("trade_id", name=op.f("uq_trades_trade_id")),
    )
    op.create_index("ix_trades_net_pnl", "trades", ["net_pnl"], unique=False)
    op.create_index(
        "ix_trades_strategy_timestamp", "trades", ["strategy", "timestamp"], unique=False
    )
    op.create_index("ix_trades_symbol", "trades", ["symbol"], unique=False)
    op.create_index("ix_trades_timestamp", "trades", ["timestamp"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trades_timestamp", table_name="trades")
    op.drop_index("ix_trades_symbol", table_name="trades")
    op.drop_index("ix_trades_strategy_timestamp", table_name="trades")
    op.drop_index("ix_trades_net_pnl", table_name="trades")
    op.drop_table("trades")
    op.drop_table("trade_dead_letters")
