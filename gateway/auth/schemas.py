"""Who is calling: the verified subject of a Supabase access token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class User(BaseModel):
    """``is_admin``: the token's ``app_metadata.role`` is "admin" (``user_metadata`` is
    user-editable and never trusted) or the id is in ``ADMIN_USER_IDS``."""

    id: str
    email: str | None = None
    role: str = "authenticated"
    session_id: str | None = None
    aal: str | None = None
    is_admin: bool = False


class ThrottleEntry(BaseModel):
    """One counted caller (``user:…``, ``ip:…``) or target (``mt5:login@server``, ``apikey:…``)."""

    key: str
    failures: int = Field(description="Unproven attempts in the current window")
    last_attempt_at: datetime
    locked_until: datetime | None
    retry_after_s: int | None = Field(description="Seconds until it may try again (None: now)")


class ThrottleList(BaseModel):
    entries: list[ThrottleEntry]


class ThrottleCleared(BaseModel):
    cleared: int = Field(description="How many keys were forgotten")
