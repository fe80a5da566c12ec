"""The development token the console offers as its default (never in production).

It is the token ``make token`` prints: the dev user, signed with the generated development key
pair (or the configured HS256 secret when a Supabase project is set), one hour.
"""

from __future__ import annotations

import time
import uuid

import jwt

from gateway.auth.devkeys import load_dev_keys
from gateway.config import Settings

DEV_USER_ID = "00000000-0000-4000-8000-000000000001"  # the same user as scripts/dev_token.py


def dev_token(settings: Settings, lifetime_s: int = 3600) -> str | None:
    """A fresh development token, or None in production or without a local signing key."""
    if settings.is_production:
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
    if settings.supabase_jwt_secret is not None:
        return jwt.encode(claims, settings.supabase_jwt_secret.get_secret_value(), "HS256")
    return None
