"""Who is calling: the verified subject of a Supabase access token."""

from __future__ import annotations

from pydantic import BaseModel


class User(BaseModel):
    """``is_admin``: the token's ``app_metadata.role`` is "admin" (``user_metadata`` is
    user-editable and never trusted) or the id is in ``ADMIN_USER_IDS``."""

    id: str
    email: str | None = None
    role: str = "authenticated"
    session_id: str | None = None
    aal: str | None = None
    is_admin: bool = False
