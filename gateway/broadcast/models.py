"""Broadcast tables (migration 0008).

- ``broadcasts``: one order an admin sent to many accounts; ``idempotency_key`` (unique per
  admin) makes a repeated POST answer the first broadcast instead of starting another.
- ``broadcast_targets``: one row per target account with its sizing and outcome: pending,
  filled (ticket, price), refused (code, detail), unknown (being reconciled, ``request_id``),
  or closed. The desk key of a target is derived from the broadcast and the account, so a
  retried fan-out never places a second order on the same account.
- ``account_tags``: labels users put on their accounts (``PUT /accounts/{id}/tags``), so a
  broadcast can target "every account tagged X".
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import JsonType, UTCDateTime, new_id, utcnow


class TargetState(enum.StrEnum):
    PENDING = "pending"
    FILLED = "filled"
    REFUSED = "refused"
    UNKNOWN = "unknown"
    CLOSED = "closed"


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (UniqueConstraint("created_by", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_by: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BroadcastTarget(Base):
    __tablename__ = "broadcast_targets"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "account_id"),
        Index("ix_broadcast_targets_broadcast", "broadcast_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    broadcast_id: Mapped[str] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(255))
    symbol: Mapped[str | None] = mapped_column(String(32), nullable=True)
    volume: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=TargetState.PENDING.value)
    ticket: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AccountTag(Base):
    __tablename__ = "account_tags"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("mt5_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
