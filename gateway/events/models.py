"""Tables of the account event log (migration ``0006``).

- ``event_streams``: one row per watched account: the last ``seq`` handed out and the state the
  events so far describe (positions, orders, the newest deal seen, ``as_of``). A new event's
  ``seq`` comes from ``UPDATE ... RETURNING`` on this row (an upsert), so two writers, even two
  gateway processes on PostgreSQL, can never hand out the same number: the row lock serializes
  them. The state is written in the same transaction as the events it leads to.
- ``account_events``: the events themselves, unique per (account, seq), kept for the retention
  window and then pruned (the counter row keeps counting, so a number is never reused).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import JsonType, UTCDateTime, utcnow


class EventStream(Base):
    __tablename__ = "event_streams"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccountEvent(Base):
    __tablename__ = "account_events"
    __table_args__ = (
        UniqueConstraint("account_id", "seq"),
        Index("ix_account_events_recorded_at", "recorded_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(40))
    time: Mapped[datetime] = mapped_column(UTCDateTime())  # when it happened (broker time, UTC)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)
    cause: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
