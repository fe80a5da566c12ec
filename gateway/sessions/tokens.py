"""Gateway-signed session tokens for MT5-credential logins.

HS256 with ``SESSION_JWT_SECRET`` (the gateway both signs and verifies, so a shared secret is
enough; production refuses a missing, short or placeholder one). Claims: ``iss`` =
``SESSION_JWT_ISSUER`` (never the Supabase issuer), ``aud`` = ``mt5-gateway``, ``sub`` = the
gateway user, ``jti`` = the session id, ``account_id`` = the one account it acts for, ``iat``,
``exp`` (``SESSION_TTL_S``, 24 h by default). Verification fixes the algorithm and requires every
one of them.

Logout puts the ``jti`` in ``revoked_sessions`` until the token's expiry. Whether a session is
revoked is cached for ``API_KEY_CACHE_S`` (a logout through this gateway is seen at once, through
another replica within that time).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.exceptions import ExpiredSignatureError, InvalidTokenError, MissingRequiredClaimError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.schemas import Principal, User
from gateway.db import session_scope
from gateway.errors import AuthError
from gateway.keys.scopes import READ, STREAM, TRADE
from gateway.logs import note
from gateway.sessions.models import RevokedSession

ALGORITHM = "HS256"
AUDIENCE = "mt5-gateway"
REQUIRED = ["exp", "iat", "sub", "aud", "iss", "jti", "account_id"]
SESSION_SCOPES = [READ, TRADE, STREAM]
CACHE_MAX = 4096


@dataclass(frozen=True)
class Issued:
    token: str
    jti: str
    expires_at: datetime


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims (only to pick which key must verify it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except InvalidTokenError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


class SessionTokens:
    def __init__(
        self,
        *,
        issuer: str,
        secret: str,
        ttl_s: float,
        sessionmaker: async_sessionmaker[AsyncSession],
        cache_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self._secret = secret
        self.ttl_s = ttl_s
        self.sessionmaker = sessionmaker
        self.cache_s = cache_s
        self._clock = clock
        self._revoked: OrderedDict[str, tuple[float, bool]] = OrderedDict()

    def issue(self, user_id: str, account_id: str) -> Issued:
        now = int(self._clock())
        jti = str(uuid.uuid4())
        expires = now + int(self.ttl_s)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": user_id,
            "jti": jti,
            "account_id": account_id,
            "role": "authenticated",
            "iat": now,
            "exp": expires,
        }
        token = jwt.encode(claims, self._secret, ALGORITHM)
        return Issued(token, jti, datetime.fromtimestamp(expires, UTC))

    async def verify(self, token: str) -> Principal:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": REQUIRED},
            )
        except ExpiredSignatureError:
            raise AuthError("Session has expired; log in again") from None
        except MissingRequiredClaimError as exc:
            raise AuthError(f"Token is missing the {exc.claim!r} claim") from None
        except InvalidTokenError:
            raise AuthError("Invalid session token") from None
        jti, sub, account_id = claims["jti"], claims["sub"], claims["account_id"]
        if not all(isinstance(v, str) and v for v in (jti, sub, account_id)):
            raise AuthError("Invalid session token")
        if await self._is_revoked(jti):
            raise AuthError("This session was logged out", code="SESSION_REVOKED")
        note(user_id=sub)
        user = User(
            id=sub,
            auth="mt5_session",
            session_id=jti,
            scopes=list(SESSION_SCOPES),
            account_id=account_id,
        )
        return Principal(user=user, expires_at=float(claims["exp"]))

    async def revoke(self, user_id: str, jti: str, expires_at: float) -> None:
        """Log the session out until its expiry (and forget sessions that expired)."""
        now = datetime.now(UTC)
        async with session_scope(self.sessionmaker) as session:
            await session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
            if await session.get(RevokedSession, jti) is None:
                session.add(
                    RevokedSession(
                        jti=jti,
                        user_id=user_id,
                        revoked_at=now,
                        expires_at=datetime.fromtimestamp(expires_at, UTC),
                    )
                )
        self._remember(jti, True)

    async def _is_revoked(self, jti: str) -> bool:
        cached = self._revoked.get(jti)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        async with session_scope(self.sessionmaker) as session:
            revoked = await session.get(RevokedSession, jti) is not None
        self._remember(jti, revoked)
        return revoked

    def _remember(self, jti: str, revoked: bool) -> None:
        self._revoked[jti] = (time.monotonic(), revoked)
        self._revoked.move_to_end(jti)
        while len(self._revoked) > CACHE_MAX:
            self._revoked.popitem(last=False)
