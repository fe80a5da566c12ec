"""Keep the tables out of reach of Supabase's Data API (PostgreSQL only).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

On a Supabase project's own database, tables in ``public`` are granted to the ``anon`` and
``authenticated`` roles by default and served by its REST API. Row-level security with no
policy denies those roles every row. The gateway connects as the tables' owner, which RLS
does not restrict (no FORCE), so it is unaffected. SQLite has no such thing: nothing to do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("mt5_accounts", "user_state", "idempotency_keys", "trade_requests", "audit_log")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*TABLES, "alembic_version"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*TABLES, "alembic_version"):
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
