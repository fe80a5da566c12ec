"""Supabase access-token verification (platform-facts §1, DESIGN §6).

The algorithm is never the token's choice: ES256/RS256 tokens are checked with the JWKS key of
their ``kid`` and that key's one algorithm; HS256 tokens only when a secret is configured. Every
token must carry ``exp``, ``sub``, ``aud`` (the configured audience), ``iss`` (the configured
issuer) and ``role == "authenticated"``; anonymous sign-ins are refused. That also shuts out the
project's anon and service_role keys, which are valid HS256 JWTs without ``sub``/``aud``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from gateway.auth.devkeys import load_dev_keys
from gateway.auth.jwks import JwksCache
from gateway.auth.schemas import Principal, User
from gateway.config import Settings
from gateway.errors import AuthError
from gateway.logs import note

ASYMMETRIC = ("ES256", "RS256")
REQUIRED_CLAIMS = ["exp", "sub", "aud", "iss"]
# A verified token is remembered briefly, so a client polling with one token pays the signature
# check about once a minute. The bound keeps a rotated-out key's tokens from living on for long.
VERIFIED_TTL_S = 60.0
VERIFIED_MAX = 4096


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache | None,
        hs256_secret: str | None = None,
        leeway_s: float = 0.0,
        admin_ids: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self._secret = hs256_secret
        self._leeway_s = leeway_s
        self._admin_ids = admin_ids
        self._clock = clock
        self._verified: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    async def principal(self, token: str) -> Principal:
        """The token's user and its ``exp``, from one verification (remembered briefly); the
        request's access log line names the user by a short hash."""
        found = await self._verify(token)
        note(user_id=found.user.id)
        return found

    async def _verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._verified.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        key, algorithm = await self._key_for(token)
        claims = self._decode(token, key, algorithm)
        exp = float(claims["exp"])
        found = Principal(user=self._user(claims), expires_at=exp)
        self._remember(digest, min(exp, now + VERIFIED_TTL_S), found)
        return found

    def _remember(self, digest: bytes, until: float, found: Principal) -> None:
        self._verified[digest] = (until, found)
        self._verified.move_to_end(digest)
        while len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)

    async def _key_for(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError:
            raise AuthError("Malformed token") from None
        alg = header.get("alg")
        if alg == "HS256":
            if self._secret is None:
                raise AuthError("HS256 tokens are not accepted")
            return self._secret, "HS256"
        if alg not in ASYMMETRIC:
            raise AuthError("Unsupported token algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or self.jwks is None:
            raise AuthError("Token has no usable key id")
        jwk = await self.jwks.get(kid)
        if jwk.algorithm_name != alg:
            raise AuthError("Token algorithm does not match its key")
        return jwk.key, alg

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway_s,
                options={"require": REQUIRED_CLAIMS},
            )
        except ExpiredSignatureError:
            raise AuthError("Token has expired") from None
        except ImmatureSignatureError:
            raise AuthError("Token is not valid yet") from None
        except MissingRequiredClaimError as exc:
            raise AuthError(f"Token is missing the {exc.claim!r} claim") from None
        except InvalidAudienceError:
            raise AuthError("Token audience is not accepted") from None
        except InvalidIssuerError:
            raise AuthError("Token issuer is not accepted") from None
        except InvalidTokenError:
            raise AuthError("Invalid token") from None
        return claims

    def _user(self, claims: dict[str, Any]) -> User:
        if claims.get("role") != "authenticated":
            raise AuthError("Token role is not 'authenticated'")
        if claims.get("is_anonymous") is True:
            raise AuthError("Anonymous users are not allowed")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError("Token subject is invalid")
        return User(
            id=sub,
            email=claims.get("email") or None,
            role="authenticated",
            session_id=claims.get("session_id"),
            aal=claims.get("aal"),
            is_admin=sub in self._admin_ids or _app_role(claims) == "admin",
        )


def _app_role(claims: dict[str, Any]) -> str | None:
    """``app_metadata.role``: only the service role can set it, unlike ``user_metadata``."""
    meta = claims.get("app_metadata")
    role = meta.get("role") if isinstance(meta, dict) else None
    return role if isinstance(role, str) else None


def make_verifier(settings: Settings, http: httpx.AsyncClient) -> TokenVerifier:
    """The verifier the settings describe: the project's JWKS, or the dev key pair offline (or
    none at all when Supabase tokens are not accepted: ``AUTH_ISSUERS`` without supabase)."""
    url = settings.jwks_url
    if not settings.accepts_supabase_tokens:
        return TokenVerifier(issuer=settings.jwt_issuer, audience=settings.jwt_audience, jwks=None)
    if url is not None:
        jwks = JwksCache(
            url, http, ttl_s=settings.jwks_cache_s, min_refresh_s=settings.jwks_min_refresh_s
        )
    elif not settings.is_production:
        dev_jwk = load_dev_keys(settings.dev_secrets_file).public_jwk()
        jwks = JwksCache(None, static_jwks={"keys": [dev_jwk]})
    else:  # pragma: no cover - Settings refuses production without a JWKS source
        raise RuntimeError("no JWKS source configured")
    secret = settings.supabase_jwt_secret
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        jwks=jwks,
        hs256_secret=secret.get_secret_value() if secret is not None else None,
        admin_ids=frozenset(settings.admin_user_ids),
    )
