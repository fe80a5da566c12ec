"""Who is calling: the verified subject of a Supabase access token."""

from __future__ import annotations

from pydantic import BaseModel


class User(BaseModel):
    id: str
    email: str | None = None
    role: str = "authenticated"
    session_id: str | None = None
    aal: str | None = None
