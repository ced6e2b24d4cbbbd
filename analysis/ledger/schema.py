"""The trade ledger's tables (SQLAlchemy Core). Alembic migrations must match this module.

Column names of ``trades`` follow the original design so users' existing SQL keeps working;
the columns after ``config_hash`` were added for analysis (times, identity, venue, dry-run).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Money and prices: exact decimals, wide enough for satoshi-priced pairs and large notionals.
Money = sa.Numeric(28, 10)
Price = sa.Numeric(28, 12)

EXIT_REASONS = (
    "take_profit",
    "stop_loss",
    "trailing_stop_loss",
    "timeout",
    "roi",
    "exit_signal",
    "manual",
    "force_exit",
    "liquidation",
    "other",
)
SIDES = ("long", "short")
DIRECTIONS = ("up", "down", "flat")
EXECUTION_TYPES = ("maker", "taker")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IS NULL OR {column} IN ({quoted})"


trades = sa.Table(
    "trades",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("trade_id", sa.String(128), nullable=False, unique=True),
    # When the trade was closed (the record's time in the original design).
    sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
    sa.Column("symbol", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("entry_price", Price, nullable=False),
    sa.Column("exit_price", Price, nullable=False),
    sa.Column("quantity", Price, nullable=False),
    sa.Column("pnl_usdt", Money, nullable=False),
    sa.Column("pnl_pct", sa.Float, nullable=False),
    sa.Column("commission", Money, nullable=False),
    sa.Column("net_pnl", Money, nullable=False),
    sa.Column("model_confidence", sa.Float),
    sa.Column("predicted_direction", sa.String(8)),
    sa.Column("actual_direction", sa.String(8)),
    sa.Column("slippage_bps", sa.Float),
    sa.Column("order_latency_ms", sa.Float),
    sa.Column("execution_type", sa.String(8)),
    sa.Column("market_volatility", sa.Float),
    sa.Column("spread_bps", sa.Float),
    sa.Column("volume_24h", Money),
    sa.Column("exit_reason", sa.String(32)),
    sa.Column("strategy_version", sa.String(64)),
    sa.Column("config_hash", sa.String(64)),
    # Added for analysis.
    sa.Column("entry_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("exit_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bot_name", sa.String(64)),
    sa.Column("strategy", sa.String(128)),
    sa.Column("exchange", sa.String(32)),
    sa.Column("stake_currency", sa.String(16)),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default="live"),
    sa.Column(
        "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # The risk cap that shrank the entry's stake (a tribar.risk.CAP_STEPS name; NULL when none
    # did): migration 0003, so it follows recorded_at.
    sa.Column("stake_cap", sa.String(32)),
    sa.CheckConstraint(_in("side", SIDES), name="side"),
    sa.CheckConstraint(_in("exit_reason", EXIT_REASONS), name="exit_reason"),
    sa.CheckConstraint(_in("predicted_direction", DIRECTIONS), name="predicted_direction"),
    sa.CheckConstraint(_in("actual_direction", DIRECTIONS), name="actual_direction"),
    sa.CheckConstraint(_in("execution_type", EXECUTION_TYPES), name="execution_type"),
    sa.CheckConstraint(
        "model_confidence IS NULL OR (model_confidence >= 0 AND model_confidence <= 1)",
        name="model_confidence",
    ),
    sa.CheckConstraint("entry_price > 0 AND exit_price > 0", name="prices_positive"),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    sa.CheckConstraint("commission >= 0", name="commission_non_negative"),
    sa.CheckConstraint("exit_time >= entry_time", name="exit_after_entry"),
    sa.CheckConstraint("source IN ('live', 'dry_run', 'backtest', 'import')", name="source"),
    # Separate CREATE INDEX statements: the PostgreSQL way (not MySQL-style inline INDEX).
    sa.Index("ix_trades_timestamp", "timestamp"),
    sa.Index("ix_trades_symbol", "symbol"),
    sa.Index("ix_trades_net_pnl", "net_pnl"),
    sa.Index("ix_trades_strategy_timestamp", "strategy", "timestamp"),
    # The equity curve and the summary read close time and net pnl of every trade in close
    # order: covered by this index, PostgreSQL reads them already ordered, without touching the
    # table (an index-only scan).
    sa.Index("ix_trades_timestamp_id", "timestamp", "id", postgresql_include=["net_pnl"]),
)


@sa.event.listens_for(trades, "after_create")
def _expression_statistics(target: sa.Table, connection: sa.Connection, **_: object) -> None:
    """``create_all`` gets the expression statistics migration 0002 creates (PostgreSQL only),
    so a ledger made either way plans its analytics group-bys alike."""
    if connection.dialect.name != "postgresql":
        return
    from tribar.analysis.analytics.sqlfuncs import expression_statistics_ddl

    for ddl in expression_statistics_ddl():
        connection.exec_driver_sql(ddl)


# Rows that can never be valid (NaN price, unknown pair, ...): kept with the reason, not retried.
trade_dead_letters = sa.Table(
    "trade_dead_letters",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("trade_id", sa.String(128)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column(
        "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

TRADE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in trades.columns if c.name not in ("id", "recorded_at")
)


# Entry decisions of the risk layer that refused or resized an entry (migration 0004). One row
# per (bot, pair, signal candle, outcome): decision_rows.decision_key; docs/ledger.md.
entry_decisions = sa.Table(
    "entry_decisions",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("decision_key", sa.String(64), nullable=False, unique=True),
    # When RiskManager.decide first gave this answer for the signal candle (the bot's clock).
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    # Open time of the signal candle; NULL when the request had none.
    sa.Column("signal_time", sa.DateTime(timezone=True)),
    sa.Column("symbol", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("allowed", sa.Boolean, nullable=False),
    # The DECISION_ORDER step that refused, or the CAP_STEPS cap that resized.
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("sizing", sa.String(8)),
    sa.Column("proposed_stake", Money),
    sa.Column("stake", Money, nullable=False),
    sa.Column("min_stake", Money),
    sa.Column("max_stake", Money),
    sa.Column("equity", Money),
    sa.Column("price", Price),
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
    sa.CheckConstraint(_in("side", SIDES), name="side"),
    sa.CheckConstraint("stake >= 0", name="stake_non_negative"),
    sa.CheckConstraint("source IN ('live', 'dry_run', 'backtest', 'import')", name="source"),
    sa.Index("ix_entry_decisions_decided_at", "decided_at"),
    sa.Index("ix_entry_decisions_code_symbol", "code", "symbol"),
)

DECISION_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in entry_decisions.columns if c.name not in ("id", "recorded_at")
)
