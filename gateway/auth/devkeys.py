"""Development signing keys, generated once and kept in ``DEV_SECRETS_FILE`` (mode 0600).

Only used when not in production: an HS256 secret standing in for SUPABASE_JWT_SECRET when that
is not set, an ES256 key pair standing in for the project's JWKS when SUPABASE_URL is not set,
an MT5 password encryption key standing in for MT5_ENCRYPTION_KEYS (production refuses to
start without that one), and a SESSION_JWT_SECRET for MT5-credential sessions when
``AUTH_ISSUERS`` includes ``gateway``.
``scripts/dev_token.py`` signs with the same keys, so a newcomer gets a working token offline.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from pydantic import SecretStr

from gateway.config import DEV_SECRET_PREFIX, Settings
from gateway.db import private_dir
from gateway.store.crypto import generate_key

DEV_ENCRYPTION_KEY_ID = "dev1"


@dataclass(frozen=True)
class DevKeys:
    hs256_secret: str
    es256_private_pem: str
    kid: str

    def public_jwk(self) -> dict[str, Any]:
        """The ES256 public key as a JWKS entry, like Supabase publishes."""
        private = serialization.load_pem_private_key(self.es256_private_pem.encode(), None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        return {**jwk, "kid": self.kid, "alg": "ES256", "use": "sig", "key_ops": ["verify"]}


def _generate() -> DevKeys:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return DevKeys(
        hs256_secret=DEV_SECRET_PREFIX + secrets.token_urlsafe(48),
        es256_private_pem=pem,
        kid="dev-" + secrets.token_hex(8),
    )


def load_dev_keys(path: Path) -> DevKeys:
    """Read the dev keys, creating the file on first use."""
    if path.exists():
        data = json.loads(path.read_text())
        return DevKeys(data["hs256_secret"], data["es256_private_pem"], data["kid"])
    keys = _generate()
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return load_dev_keys(path)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys.__dict__, handle, indent=2)
    return keys


def dev_encryption_keys(path: Path) -> str:
    """The dev MT5 password keyring (``dev1:<key>``), added to the dev secrets file once."""
    load_dev_keys(path)
    data = json.loads(path.read_text())
    if "mt5_encryption_keys" not in data:
        data["mt5_encryption_keys"] = generate_key(DEV_ENCRYPTION_KEY_ID)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    keys: str = data["mt5_encryption_keys"]
    return keys


def dev_session_secret(path: Path) -> str:
    """The dev signing secret of MT5-credential session tokens, added to the file once."""
    load_dev_keys(path)
    data = json.loads(path.read_text())
    if "session_jwt_secret" not in data:
        data["session_jwt_secret"] = DEV_SECRET_PREFIX + secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    secret: str = data["session_jwt_secret"]
    return secret


def with_dev_secrets(settings: Settings) -> Settings:
    """Fill the HS256 secret and the MT5 password key from the dev secrets file in
    development; configured values always win."""
    if settings.is_production:
        return settings
    update: dict[str, Any] = {}
    if settings.supabase_jwt_secret is None:
        keys = load_dev_keys(settings.dev_secrets_file)
        update["supabase_jwt_secret"] = SecretStr(keys.hs256_secret)
    if settings.mt5_encryption_keys is None:
        keyring = dev_encryption_keys(settings.dev_secrets_file)
        update["mt5_encryption_keys"] = SecretStr(keyring)
    if settings.accepts_gateway_tokens and settings.session_jwt_secret is None:
        update["session_jwt_secret"] = SecretStr(dev_session_secret(settings.dev_secrets_file))
    return settings.model_copy(update=update) if update else settings


def load_settings() -> Settings:
    """Settings from the environment, with development secrets filled in where missing (the
    app factory and the command-line tools start from this; production refuses dev secrets)."""
    return with_dev_secrets(Settings())
