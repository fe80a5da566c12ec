"""Print a development access token the local gateway accepts (``make token``).

It reads the same settings and dev keys as the gateway (``./data/dev-secrets.json``), signs
an ES256 token with the dev key pair when the gateway uses it (no SUPABASE_URL configured), or
HS256 with the configured/dev secret otherwise. Refuses to run in production.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

import jwt

from gateway.auth.devkeys import load_dev_keys, load_settings

DEV_USER_ID = "00000000-0000-4000-8000-000000000001"


def dev_token(*, sub: str = DEV_USER_ID, lifetime_s: int = 3600) -> str:
    settings = load_settings()
    if settings.is_production:
        raise SystemExit("refusing to mint tokens in production")
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": sub,
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
    if settings.supabase_jwt_secret is None:
        raise SystemExit("SUPABASE_URL is set without a JWT secret: get a token from Supabase")
    return jwt.encode(claims, settings.supabase_jwt_secret.get_secret_value(), "HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub", default=DEV_USER_ID, help="user id (default: the dev user)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args()
    sys.stdout.write(dev_token(sub=args.sub, lifetime_s=args.ttl) + "\n")


if __name__ == "__main__":
    main()
