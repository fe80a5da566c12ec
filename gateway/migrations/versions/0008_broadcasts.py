"""Broadcasts: one admin order fanned out to many accounts, its per-account outcomes, and the
account tags broadcasts target.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

See ``gateway/broadcast/models.py`` for what each table holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request", JSON, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint(
            "created_by", "idempotency_key", name=op.f("uq_broadcasts_created_by_idempotency_key")
        ),
    )
    op.create_table(
        "broadcast_targets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("broadcast_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("volume", sa.Float(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ticket", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(36), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            ondelete="CASCADE",
            name=op.f("fk_broadcast_targets_broadcast_id_broadcasts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_targets")),
        sa.UniqueConstraint(
            "broadcast_id", "account_id", name=op.f("uq_broadcast_targets_broadcast_id_account_id")
        ),
    )
    op.create_index("ix_broadcast_targets_broadcast", "broadcast_targets", ["broadcast_id"])
    op.create_table(
        "account_tags",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["mt5_accounts.id"],
            ondelete="CASCADE",
            name=op.f("fk_account_tags_account_id_mt5_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "tag", name=op.f("pk_account_tags")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Same rule as 0002: out of reach of Supabase's Data API roles.
        for table in ("broadcasts", "broadcast_targets", "account_tags"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_table("account_tags")
    op.drop_table("broadcast_targets")
    op.drop_table("broadcasts")
