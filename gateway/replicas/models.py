"""Tables of several gateway replicas sharing terminals (migration ``0009``, PostgreSQL only in
use; SQLite gets the tables so one schema serves both).

- ``gateway_replicas``: one row per replica process: its id, the internal address the others
  forward requests to, and until when it is alive (renewed with its leases).
- ``terminal_leases``: one row per terminal (by its configured name): the replica holding it
  and until when, a ``generation`` counting changes of holder, and the account the terminal is
  logged into (so the other replicas forward that account's requests to the holder).
- ``replica_stamps``: which replica created a ``trade_requests`` or ``idempotency_keys`` row
  (``kind`` "trade" or "key", ``ref`` the row's id), written by a PostgreSQL trigger from the
  connection's ``mt5gw.replica_id`` setting. When a replica dies, a survivor claims its
  unsettled rows here and resumes them (``gateway/replicas/orphans.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, PrimaryKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import UTCDateTime, utcnow


class GatewayReplica(Base):
    __tablename__ = "gateway_replicas"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    address: Mapped[str | None] = mapped_column(Text)  # internal URL, None: cannot be forwarded to
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TerminalLease(Base):
    __tablename__ = "terminal_leases"

    terminal: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account: Mapped[str | None] = mapped_column(String(255))  # str(AccountKey) logged in
    server: Mapped[str | None] = mapped_column(String(255))  # that account's broker server
    only_server: Mapped[str | None] = mapped_column(String(255))  # the terminal's one server
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReplicaStamp(Base):
    __tablename__ = "replica_stamps"
    __table_args__ = (PrimaryKeyConstraint("kind", "ref"),)

    kind: Mapped[str] = mapped_column(String(16))  # "trade" (trade_requests) or "key"
    ref: Mapped[str] = mapped_column(String(64))  # request_id, or the key row's id as text
    replica_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
