"""Journal: round-trip trades, balance operations and the sync cursor per account.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

See ``gateway/journal/models.py`` for what each table holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "journal_trades",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("close_deal", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("open_time", UTC, nullable=False),
        sa.Column("close_time", UTC, nullable=False),
        sa.Column("open_price", sa.Float(), nullable=False),
        sa.Column("close_price", sa.Float(), nullable=False),
        sa.Column("profit", sa.Float(), nullable=False),
        sa.Column("commission", sa.Float(), nullable=False),
        sa.Column("swap", sa.Float(), nullable=False),
        sa.Column("fee", sa.Float(), nullable=False),
        sa.Column("magic", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("synced_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_trades")),
        sa.UniqueConstraint(
            "account_id", "external_id", name=op.f("uq_journal_trades_account_id_external_id")
        ),
    )
    op.create_index(
        "ix_journal_trades_account_close", "journal_trades", ["account_id", "close_time", "id"]
    )
    op.create_table(
        "journal_balance_ops",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("deal", sa.BigInteger(), nullable=False),
        sa.Column("time", UTC, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("comment", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_balance_ops")),
        sa.UniqueConstraint(
            "account_id", "deal", name=op.f("uq_journal_balance_ops_account_id_deal")
        ),
    )
    op.create_index(
        "ix_journal_balance_ops_account_time", "journal_balance_ops", ["account_id", "time"]
    )
    op.create_table(
        "journal_sync",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", UTC, nullable=True),
        sa.Column("auto_sync", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_journal_sync")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Same rule as 0002: out of reach of Supabase's Data API roles.
        for table in ("journal_trades", "journal_balance_ops", "journal_sync"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_table("journal_sync")
    op.drop_table("journal_balance_ops")
    op.drop_table("journal_trades")
