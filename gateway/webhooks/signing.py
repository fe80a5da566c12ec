"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each request carries ``webhook-id`` (the event id: the same on every retry, so receivers can
drop duplicates), ``webhook-timestamp`` (epoch seconds of this attempt) and
``webhook-signature``: ``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body`` with the
endpoint's secret. The secret is ``whsec_`` + base64 of 32 random bytes, shown once.

Signing is these few lines of the standard library; the tests verify every request with the
specification's own reference library (PyPI ``standardwebhooks``), which receivers can use too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
