"""The project's JSON Web Key Set, fetched with httpx and cached.

Keys are cached for ``ttl_s`` (Supabase advises no more than ~10 min). A token naming an unknown
``kid`` triggers a refresh at most once per ``min_refresh_s``, so random kids cannot turn every
request into a fetch. Each key gets a fixed algorithm from its own type (EC P-256 → ES256,
RSA → RS256); symmetric or other keys in the set are ignored. A fetch that fails raises
``AuthUnavailable`` (503): an outage on Supabase's side must not sign users out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from gateway.errors import AuthError, AuthUnavailable

log = logging.getLogger("gateway.auth.jwks")


def key_algorithm(jwk: dict[str, Any]) -> str | None:
    """The one algorithm a JWKS entry may verify, from its key type (never from a token)."""
    if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
        return "ES256"
    if jwk.get("kty") == "RSA":
        return "RS256"
    return None


def parse_keys(jwks: Any) -> dict[str, PyJWK]:
    """kid → key for the usable entries of a JWKS document."""
    keys: dict[str, PyJWK] = {}
    entries = jwks.get("keys", []) if isinstance(jwks, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        algorithm = key_algorithm(entry)
        if algorithm is None or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry, algorithm)
        except PyJWKError:
            log.warning("ignoring an unusable key in the JWKS (kid %s)", entry["kid"])
    return keys


class JwksCache:
    """Signing keys by kid, from a URL (refreshed) or a fixed set (local development)."""

    def __init__(
        self,
        url: str | None,
        client: httpx.AsyncClient | None = None,
        *,
        static_jwks: dict[str, Any] | None = None,
        ttl_s: float = 600.0,
        min_refresh_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if url is None and static_jwks is None:
            raise ValueError("a JWKS URL or a static key set is needed")
        self.url = url
        self._client = client
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str, PyJWK] = parse_keys(static_jwks) if static_jwks else {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    @property
    def reachable(self) -> bool | None:
        """Whether the last fetch worked (None before the first one, or for a fixed set)."""
        if self.url is None or self._attempted_at is None:
            return None
        return self._fetched_at == self._attempted_at

    async def get(self, kid: str) -> PyJWK:
        """The key for ``kid``; raises AuthError when unknown, AuthUnavailable when unreachable."""
        if self.url is not None:
            if self._expired():
                await self._refresh(force=True)
            elif kid not in self._keys:
                await self._refresh(force=False)
        key = self._keys.get(kid)
        if key is None:
            raise AuthError("Token signed with an unknown key")
        return key

    def _expired(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl_s

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = self._clock()
            if force and not self._expired():
                return  # another request refreshed while we waited
            recent = (
                self._attempted_at is not None and now - self._attempted_at < self._min_refresh_s
            )
            if recent and force:
                raise AuthUnavailable()  # the last attempt just failed; don't hammer the JWKS
            if recent:
                return
            self._attempted_at = now
            self._keys = await self._fetch()
            self._fetched_at = now

    async def _fetch(self) -> dict[str, PyJWK]:
        assert self.url is not None
        client = self._client or httpx.AsyncClient()
        self.fetches += 1
        try:
            response = await client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = parse_keys(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            raise AuthUnavailable() from None
        finally:
            if self._client is None:
                await client.aclose()
        log.info("JWKS refreshed: %d usable key(s)", len(keys))
        return keys
