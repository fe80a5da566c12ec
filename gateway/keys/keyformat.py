"""What an API key looks like, and how it is stored.

A key is ``mt5gw_<id>_<secret>``: ``<id>`` is 8 lowercase letters or digits (public: the key's
display prefix is ``mt5gw_<id>``), ``<secret>`` is 32 random bytes from :mod:`secrets`, base64url
(43 characters). The store keeps the hex SHA-256 of the whole key.

Why a plain SHA-256 and not bcrypt/argon2: those slow hashes exist to protect *guessable*
secrets such as passwords. A 256-bit random secret cannot be guessed or brute-forced from its
digest, so a slow hash would only add tens of milliseconds to every authenticated request
(keys are checked on every call, not once per login). A keyed hash (HMAC with a server pepper)
would add another secret to rotate for no gain at this entropy. The digest is looked up through a
unique index; a leaked ``api_keys`` table therefore reveals no usable key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

KEY_PREFIX = "mt5gw_"
ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 8
SECRET_BYTES = 32
_KEY = re.compile(r"^mt5gw_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


def looks_like_key(token: str) -> bool:
    """An API key rather than a JWT (a JWT starts with ``eyJ``)."""
    return token.startswith(KEY_PREFIX)


def new_key() -> tuple[str, str]:
    """A fresh key and its display prefix."""
    ident = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{KEY_PREFIX}{ident}_{secret}", f"{KEY_PREFIX}{ident}"


def prefix_of(key: str) -> str | None:
    """The display prefix of a well-formed key, else None."""
    match = _KEY.match(key)
    return f"{KEY_PREFIX}{match.group(1)}" if match else None


def digest(key: str) -> str:
    """What the store keeps: the hex SHA-256 of the whole key."""
    return hashlib.sha256(key.encode()).hexdigest()
