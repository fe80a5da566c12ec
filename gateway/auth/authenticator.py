"""One entry point for every credential the gateway accepts.

``Authenticator.authenticate(token, ip)`` picks the checker by the credential's shape, never
trusting it beyond that choice:

- ``mt5gw_…``: an API key (``gateway.keys.auth``);
- a JWT whose ``iss`` is ``SESSION_JWT_ISSUER``: an MT5-credential session token
  (``gateway.sessions.tokens``), when ``gateway`` is in ``AUTH_ISSUERS``;
- any other JWT: a Supabase access token (``gateway.auth.verifier``), when ``supabase`` is in
  ``AUTH_ISSUERS``.

Each checker verifies the signature with its own key and fixed algorithm, so a token claiming
another issuer only chooses a key that will not verify it.
"""

from __future__ import annotations

from gateway.auth.schemas import Principal
from gateway.auth.verifier import TokenVerifier
from gateway.errors import AuthError
from gateway.keys.auth import KeyAuthenticator
from gateway.keys.keyformat import looks_like_key
from gateway.sessions.tokens import SessionTokens, unverified_issuer


class Authenticator:
    def __init__(
        self,
        *,
        supabase: TokenVerifier | None,
        keys: KeyAuthenticator,
        sessions: SessionTokens | None,
    ) -> None:
        self.supabase = supabase
        self.keys = keys
        self.sessions = sessions

    async def authenticate(self, token: str, ip: str | None) -> Principal:
        if looks_like_key(token):
            return await self.keys.authenticate(token, ip)
        if self.sessions is not None and unverified_issuer(token) == self.sessions.issuer:
            return await self.sessions.verify(token)
        if self.supabase is None:
            raise AuthError("Token issuer is not accepted")
        return await self.supabase.principal(token)
