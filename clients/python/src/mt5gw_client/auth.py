"""Token providers: where the credentials of each request come from.

- :class:`StaticToken`: a Supabase access token you already have (or ``make token`` in dev).
- :class:`ApiKey`: a gateway API key (``mt5gw_...``), sent as ``X-API-Key`` or as a bearer token.
- :class:`SupabaseSession`: a Supabase session (access + refresh token). The access token is
  renewed through Supabase's ``/auth/v1/token?grant_type=refresh_token`` shortly before it
  expires, and at once if the gateway answers 401; the rotated refresh token is kept (and
  handed to ``on_refresh`` so you can store it).

A provider gives HTTP headers (sync and async) and the token for the stream's ``auth``
message. Tokens never appear in the client's exceptions or reprs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


class TokenProvider(Protocol):
    def headers(self) -> dict[str, str]: ...

    async def aheaders(self) -> dict[str, str]: ...

    async def stream_token(self) -> str:
        """The token for the stream's first message (fresh enough to outlive a reconnect)."""
        ...

    def expired(self) -> bool:
        """After a 401: renew if possible; True when a retry with new credentials makes sense."""
        ...

    async def aexpired(self) -> bool: ...

    async def renew(self) -> str:
        """A token for a new ``auth`` message when the stream says ``auth_expiring``."""
        ...


class StaticToken:
    """A fixed bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(***)"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def aheaders(self) -> dict[str, str]:
        return self.headers()

    async def stream_token(self) -> str:
        return self._token

    def expired(self) -> bool:
        return False

    async def aexpired(self) -> bool:
        return False

    async def renew(self) -> str:
        return self._token


class ApiKey:
    """A gateway API key: ``X-API-Key: mt5gw_...`` (default) or ``Authorization: Bearer``."""

    def __init__(self, key: str, *, as_bearer: bool = False) -> None:
        self._key, self._as_bearer = key, as_bearer

    def __repr__(self) -> str:
        return f"ApiKey(***, as_bearer={self._as_bearer})"

    def headers(self) -> dict[str, str]:
        if self._as_bearer:
            return {"Authorization": f"Bearer {self._key}"}
        return {"X-API-Key": self._key}

    async def aheaders(self) -> dict[str, str]:
        return self.headers()

    async def stream_token(self) -> str:
        return self._key

    def expired(self) -> bool:
        return False

    async def aexpired(self) -> bool:
        return False

    async def renew(self) -> str:
        return self._key


class TokenCallback:
    """A function that returns a current token (e.g. your app's own session store); it is
    called for every request, and again after a 401 and on ``auth_expiring``."""

    def __init__(self, get_token: Callable[[], str]) -> None:
        self._get = get_token

    def __repr__(self) -> str:
        return "TokenCallback(...)"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._get()}"}

    async def aheaders(self) -> dict[str, str]:
        return self.headers()

    async def stream_token(self) -> str:
        return self._get()

    def expired(self) -> bool:
        return True

    async def aexpired(self) -> bool:
        return True

    async def renew(self) -> str:
        return self._get()


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying (the gateway verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


@dataclass
class Session:
    access_token: str
    refresh_token: str
    expires_at: float | None


class SupabaseSession:
    """A Supabase Auth session that renews itself.

    ``supabase_url`` is your project (``https://<ref>.supabase.co``), ``anon_key`` its public
    (anon or publishable) key, which Supabase wants as ``apikey`` on auth calls.
    ``refresh_leeway_s``: renew when the access token has less than this left.
    """

    def __init__(
        self,
        supabase_url: str,
        anon_key: str,
        *,
        access_token: str,
        refresh_token: str,
        refresh_leeway_s: float = 120.0,
        on_refresh: Callable[[Session], Any] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._url = supabase_url.rstrip("/") + "/auth/v1/token?grant_type=refresh_token"
        self._anon_key = anon_key
        self._session = Session(access_token, refresh_token, jwt_expiry(access_token))
        self._leeway = refresh_leeway_s
        self._on_refresh = on_refresh
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._alock: asyncio.Lock | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"SupabaseSession(expires_at={self._session.expires_at})"

    @property
    def session(self) -> Session:
        return self._session

    def _stale(self) -> bool:
        expires = self._session.expires_at
        return expires is not None and expires - time.time() < self._leeway

    def _request(self) -> dict[str, Any]:
        return {
            "url": self._url,
            "headers": {"apikey": self._anon_key, "Content-Type": "application/json"},
            "json": {"refresh_token": self._session.refresh_token},
        }

    def _accept(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            from .errors import Unauthorized

            try:
                body = response.json()
            except ValueError:
                body = {}
            detail = body.get("error_description") or body.get("msg") or "refresh refused"
            raise Unauthorized(
                401, {"detail": f"Supabase session refresh failed: {detail}", "code": "REFRESH"}
            )
        body = response.json()
        access = str(body["access_token"])
        expires = body.get("expires_at")
        self._session = Session(
            access,
            str(body.get("refresh_token") or self._session.refresh_token),
            float(expires) if expires is not None else jwt_expiry(access),
        )
        self.refreshes += 1
        if self._on_refresh is not None:
            self._on_refresh(self._session)

    def refresh(self) -> None:
        with self._lock, httpx.Client(timeout=self._timeout) as http:
            request = self._request()
            self._accept(http.post(request.pop("url"), **request))

    async def arefresh(self) -> None:
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock, httpx.AsyncClient(timeout=self._timeout) as http:
            request = self._request()
            self._accept(await http.post(request.pop("url"), **request))

    def headers(self) -> dict[str, str]:
        if self._stale():
            self.refresh()
        return {"Authorization": f"Bearer {self._session.access_token}"}

    async def aheaders(self) -> dict[str, str]:
        if self._stale():
            await self.arefresh()
        return {"Authorization": f"Bearer {self._session.access_token}"}

    async def stream_token(self) -> str:
        await self.aheaders()
        return self._session.access_token

    def expired(self) -> bool:
        self.refresh()
        return True

    async def aexpired(self) -> bool:
        await self.arefresh()
        return True

    async def renew(self) -> str:
        """A fresh access token now (the stream calls this on ``auth_expiring``)."""
        await self.arefresh()
        return self._session.access_token
