"""The ``api_keys`` table: one row per key, the secret only as its SHA-256 digest.

``prefix`` (``mt5gw_`` + 8 characters) is public: it names the key in lists, logs, the audit
trail and the login throttle (``apikey:<prefix>``). ``secret_hash`` is the hex SHA-256 of the
whole key; the key itself is shown once, when it is created. Revoked keys stay (``revoked_at``)
so that the audit trail keeps pointing at them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import JsonType, UTCDateTime, new_id, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str | None] = mapped_column(String(36))  # None: all the user's accounts
    scopes: Mapped[list[str]] = mapped_column(JsonType)
    allowed_ips: Mapped[list[str] | None] = mapped_column(JsonType)  # CIDRs; None: anywhere
    granted_by_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:  # never shows the digest
        return f"ApiKey(id={self.id!r}, prefix={self.prefix!r}, user_id={self.user_id!r})"
