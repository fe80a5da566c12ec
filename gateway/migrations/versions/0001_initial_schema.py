"""Initial schema: accounts, user state, idempotency keys, trade requests, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Written out in full (no model imports) so it keeps meaning what it meant when it shipped.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")
LIVE_DEFAULT = sa.text("is_default AND deleted_at IS NULL")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "mt5_accounts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("login", sa.BigInteger(), nullable=False),
        sa.Column("server", sa.String(255), nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("is_investor", sa.Boolean(), nullable=False),
        sa.Column("encrypted_password", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("risk_limits", _json(), nullable=False),
        sa.Column(
            "status",
            _enum("account_status", "unknown", "connected", "error", "disabled"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_seen_at", _time(), nullable=True),
        sa.Column("deleted_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mt5_accounts")),
    )
    op.create_index(op.f("ix_mt5_accounts_user_id"), "mt5_accounts", ["user_id"])
    op.create_index(
        "uq_mt5_accounts_live_login",
        "mt5_accounts",
        ["user_id", "login", "server"],
        unique=True,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "uq_mt5_accounts_live_default",
        "mt5_accounts",
        ["user_id"],
        unique=True,
        postgresql_where=LIVE_DEFAULT,
        sqlite_where=LIVE_DEFAULT,
    )

    op.create_table(
        "user_state",
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("current_account_id", sa.String(36), nullable=True),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_account_id"],
            ["mt5_accounts.id"],
            name=op.f("fk_user_state_current_account_id_mt5_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_state")),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(128), nullable=False),
        sa.Column(
            "status", _enum("idempotency_status", "in_progress", "completed"), nullable=False
        ),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", _json(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"])

    op.create_table(
        "trade_requests",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request", _json(), nullable=False),
        sa.Column(
            "state", _enum("trade_state", "pending", "done", "unknown", "failed"), nullable=False
        ),
        sa.Column("result", _json(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["mt5_accounts.id"],
            name=op.f("fk_trade_requests_account_id_mt5_accounts"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_trade_requests")),
        sa.UniqueConstraint("client_id", name=op.f("uq_trade_requests_client_id")),
    )
    op.create_index(op.f("ix_trade_requests_account_id"), "trade_requests", ["account_id"])
    op.create_index(op.f("ix_trade_requests_state"), "trade_requests", ["state"])
    op.create_index(op.f("ix_trade_requests_user_id"), "trade_requests", ["user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("request", _json(), nullable=True),
        sa.Column("outcome", _json(), nullable=True),
        sa.Column("retcode", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_user_id"), "audit_log", ["user_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes on both databases.
    for table in ("audit_log", "trade_requests", "idempotency_keys", "user_state", "mt5_accounts"):
        op.drop_table(table)
