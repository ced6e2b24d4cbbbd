"""The risk cap that shrank a trade's stake (``tribar_stake_cap`` on the Freqtrade trade).

RiskManager.decide names the cap that bound when it resized an entry (a tribar.risk.CAP_STEPS
name); the strategy stores it on the trade and the mirror copies it here. NULL when no cap
resized the stake, and for trades recorded before this revision.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trades", sa.Column("stake_cap", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("stake_cap")
