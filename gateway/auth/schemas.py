"""Who is calling: a Supabase user, an API key of a user, or an MT5-credential session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.errors import AccountNotFound

AuthKind = Literal["supabase", "api_key", "mt5_session"]


class User(BaseModel):
    """``is_admin``: the token's ``app_metadata.role`` is "admin" (``user_metadata`` is
    user-editable and never trusted) or the id is in ``ADMIN_USER_IDS``; an API key is an
    admin only with the ``admin`` scope, given by an admin.

    A Supabase user may do anything their account allows (``scopes`` and ``account_id`` are
    null). An API key carries the scopes it was given and, when bound, the one account it may
    act for; an MT5-credential session is bound to the account it logged in with."""

    id: str
    email: str | None = None
    role: str = "authenticated"
    session_id: str | None = None
    aal: str | None = None
    is_admin: bool = False
    auth: AuthKind = Field(default="supabase", description="How the caller authenticated")
    api_key_id: str | None = Field(default=None, description="The API key used, if any")
    api_key_prefix: str | None = Field(default=None, description="Its display prefix")
    scopes: list[str] | None = Field(
        default=None, description="What the credential may do (null: everything the user may)"
    )
    account_id: str | None = Field(
        default=None, description="The one account the credential may act for (null: any)"
    )

    def acting_for(self, account_id: str | None) -> str | None:
        """The account a request names, under this credential: a bound credential acts for its
        own account when none is named, and another one's id is unknown to it (404)."""
        if self.account_id is None or account_id in (None, self.account_id):
            return self.account_id if self.account_id is not None else account_id
        raise AccountNotFound()


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


@dataclass(frozen=True)
class Principal:
    """An authenticated caller and when their credential stops being valid (epoch seconds;
    None: it does not expire by itself)."""

    user: User
    expires_at: float | None
