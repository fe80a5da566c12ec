"""The development token the console offers as its default (never in production).

It is the token ``make token`` prints: the dev user, signed with the generated development key
pair (or, when a Supabase project is set, the generated development HS256 secret), one hour.

Only the gateway's own generated development keys sign it: when a real secret is configured
(``SUPABASE_JWT_SECRET`` set to the project's secret) a token signed with it would be valid
wherever that project's tokens are, so there is none. The console route adds its own
condition: only a caller on this machine gets it (``gateway/console/router.py``).
"""

from __future__ import annotations

import time
import uuid

import jwt

from gateway.auth.devkeys import load_dev_keys
from gateway.config import DEV_SECRET_PREFIX, Settings

DEV_USER_ID = "00000000-0000-4000-8000-000000000001"  # the same user as scripts/dev_token.py


def signs_with_dev_keys(settings: Settings) -> bool:
    """The dev token would be signed with keys this gateway generated for development (the
    ES256 pair when no Supabase project is set, else a generated HS256 secret), not with a
    configured secret."""
    if settings.is_production:
        return False
    if settings.jwks_url is None:
        return True
    secret = settings.supabase_jwt_secret
    return secret is not None and secret.get_secret_value().startswith(DEV_SECRET_PREFIX)


def dev_token(settings: Settings, lifetime_s: int = 3600) -> str | None:
    """A fresh development token, or None in production or when the signing key would be a
    configured secret rather than a generated development key."""
    if not signs_with_dev_keys(settings):
        return None
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": DEV_USER_ID,
        "role": "authenticated",
        "email": "dev@example.com",
        "is_anonymous": False,
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
        "iat": now,
        "exp": now + lifetime_s,
    }
    if settings.jwks_url is None:
        keys = load_dev_keys(settings.dev_secrets_file)
        return jwt.encode(claims, keys.es256_private_pem, "ES256", headers={"kid": keys.kid})
    secret = settings.supabase_jwt_secret
    return None if secret is None else jwt.encode(claims, secret.get_secret_value(), "HS256")
