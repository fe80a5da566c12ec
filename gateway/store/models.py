"""Tables of the gateway store.

- ``mt5_accounts``: a user's MT5 logins. The password is only ever stored encrypted
  (``encrypted_password`` + the ``key_id`` that encrypted it, see ``crypto.py``). Rows are
  soft-deleted (``deleted_at``); uniqueness of (user, login, server) and "one default per
  user" hold among live rows only, through partial unique indexes (PostgreSQL and SQLite).
- ``user_state``: per-user state, today the current account.
- ``idempotency_keys``: one row per (user, Idempotency-Key): request hash, status and the
  stored response, so a retry gets the first answer.
- ``trade_requests``: every order the gateway sends, with the short client id written into
  the MT5 comment so an unknown outcome can be reconciled later.
- ``audit_log``: append-only record of state-changing calls (never secrets).
- ``login_throttle``: failed credential attempts per caller and per target, with the time
  until which each is locked out (see ``throttle.py``).

Users are Supabase ``sub`` strings; there is no users table. Times are timezone-aware UTC.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from gateway.db import Base

LIVE = text("deleted_at IS NULL")
JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AccountStatus(enum.StrEnum):
    UNKNOWN = "unknown"
    CONNECTED = "connected"
    ERROR = "error"
    DISABLED = "disabled"


class IdempotencyStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class TradeState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    UNKNOWN = "unknown"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: no PostgreSQL enum types to migrate.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Mt5Account(Timestamps, Base):
    __tablename__ = "mt5_accounts"
    __table_args__ = (
        Index(
            "uq_mt5_accounts_live_login",
            "user_id",
            "login",
            "server",
            unique=True,
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        ),
        Index(
            "uq_mt5_accounts_live_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default AND deleted_at IS NULL"),
            sqlite_where=text("is_default AND deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    login: Mapped[int] = mapped_column(BigInteger)
    server: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(255))
    is_investor: Mapped[bool] = mapped_column(Boolean, default=False)
    encrypted_password: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    risk_limits: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), default=AccountStatus.UNKNOWN
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never shows the ciphertext
        return f"Mt5Account(id={self.id!r}, user_id={self.user_id!r}, login={self.login})"


class UserState(Base):
    __tablename__ = "user_state"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    current_account_id: Mapped[str | None] = mapped_column(
        ForeignKey("mt5_accounts.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[IdempotencyStatus] = mapped_column(
        _enum(IdempotencyStatus, "idempotency_status"), default=IdempotencyStatus.IN_PROGRESS
    )
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TradeRequest(Timestamps, Base):
    __tablename__ = "trade_requests"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)  # may be "default"
    client_id: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(JsonType)
    state: Mapped[TradeState] = mapped_column(
        _enum(TradeState, "trade_state"), default=TradeState.PENDING, index=True
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    retcode: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
