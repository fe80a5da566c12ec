"""Several gateway replicas: replica rows, terminal leases, and who created which trade request.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

See ``gateway/replicas/models.py`` for what each table holds. On PostgreSQL:

- a trigger on ``trade_requests`` and on ``idempotency_keys`` records, in ``replica_stamps``,
  the ``mt5gw.replica_id`` setting of the connection that inserted the row (replicas set it on
  each of their connections; a single gateway does not, and no stamp is written);
- the new tables get row-level security like the others (0002).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)
TABLES = ("gateway_replicas", "terminal_leases", "replica_stamps")
STAMPED = (("trade_requests", "trade", "request_id"), ("idempotency_keys", "key", "id"))

STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION mt5gw_stamp_replica() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    replica text := current_setting('mt5gw.replica_id', true);
BEGIN
    IF replica IS NOT NULL AND replica <> '' THEN
        INSERT INTO replica_stamps (kind, ref, replica_id, created_at)
        VALUES (TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[1], replica, now())
        ON CONFLICT (kind, ref) DO UPDATE SET replica_id = EXCLUDED.replica_id,
            created_at = EXCLUDED.created_at;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "gateway_replicas",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_replicas")),
    )
    op.create_index(op.f("ix_gateway_replicas_expires_at"), "gateway_replicas", ["expires_at"])
    op.create_table(
        "terminal_leases",
        sa.Column("terminal", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", UTC, nullable=True),
        sa.Column("account", sa.String(255), nullable=True),
        sa.Column("server", sa.String(255), nullable=True),
        sa.Column("only_server", sa.String(255), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("terminal", name=op.f("pk_terminal_leases")),
    )
    op.create_table(
        "replica_stamps",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("replica_id", sa.String(128), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name=op.f("pk_replica_stamps")),
    )
    op.create_index(op.f("ix_replica_stamps_replica_id"), "replica_stamps", ["replica_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(STAMP_FUNCTION)
        for table, kind, column in STAMPED:
            op.execute(
                f"CREATE TRIGGER mt5gw_stamp_replica AFTER INSERT ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION mt5gw_stamp_replica('{kind}', '{column}')"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _, _ in STAMPED:
            op.execute(f"DROP TRIGGER IF EXISTS mt5gw_stamp_replica ON {table}")
        op.execute("DROP FUNCTION IF EXISTS mt5gw_stamp_replica()")
    op.drop_table("replica_stamps")
    op.drop_table("terminal_leases")
    op.drop_table("gateway_replicas")
