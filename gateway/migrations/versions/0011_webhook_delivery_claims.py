"""Webhook delivery claims: which worker is attempting a row, and until when.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Several gateway replicas on one store each run a delivery worker. A worker attempts a due row
only after claiming it (``gateway/webhooks/outbox.py``, ``claim``): ``claimed_by`` names the
worker, ``claimed_until`` (the store's clock) is when the claim lapses if that worker died
mid-attempt. Both are NULL while nobody holds the row. SQLite gets batch mode (env.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
