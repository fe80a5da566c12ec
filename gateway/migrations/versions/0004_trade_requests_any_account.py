"""Trade requests may belong to the configured single-tenant account.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-21

The single-tenant account (id ``default``, from ``DEFAULT_ACCOUNT_*`` settings) has no row in
``mt5_accounts``, so the foreign key from ``trade_requests.account_id`` would refuse every trade
made on it. The column keeps its index; stored accounts are soft-deleted, never removed, so
nothing dangles. (Trading's migration is numbered 0004 by agreement with the accounts
engineer's 0003; if 0003 lands, it should revise 0002 and this one 0003.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_trade_requests_account_id_mt5_accounts"


def upgrade() -> None:
    with op.batch_alter_table("trade_requests") as batch:
        batch.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("trade_requests") as batch:
        batch.create_foreign_key(FK, "mt5_accounts", ["account_id"], ["id"])
