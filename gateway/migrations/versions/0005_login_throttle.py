"""Login throttle: failed credential attempts counted per caller and per target.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

One row per throttle key: a caller (``user:<sub>``, ``ip:<address>``) or a target
(``mt5:<login>@<server>``, later ``apikey:<prefix>``). ``failures`` counts attempts that
were not proven good inside the window that ended at ``last_attempt_at``; ``locked_until`` is
set once the count reaches the free allowance and grows with each further failure. Kept in
the store so the count survives a restart and is shared by every replica.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_locked_until"), "login_throttle", ["locked_until"])
    if op.get_bind().dialect.name == "postgresql":
        # Same rule as 0002: out of reach of Supabase's Data API roles.
        op.execute("ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_table("login_throttle")
