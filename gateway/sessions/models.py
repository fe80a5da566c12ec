"""The ``revoked_sessions`` table: MT5-credential session tokens logged out before they expire.

A row lives until the token's own expiry (``expires_at``); after that the signature check alone
refuses the token, and the row is pruned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import UTCDateTime, utcnow


class RevokedSession(Base):
    __tablename__ = "revoked_sessions"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
