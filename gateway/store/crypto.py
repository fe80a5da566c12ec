"""Encryption at rest for MT5 passwords: AES-256-GCM under a keyring of named keys.

The keyring comes from one environment value, e.g.
``MT5_ENCRYPTION_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"``: the **first** key
encrypts, every key decrypts. Each ciphertext is stored beside the id of the key that made
it, so rotation needs no downtime:

1. put the new key first and keep the old ones (``k2:new,k1:old``) and restart;
2. run ``accounts.reencrypt_all`` (rows still on old keys move to the first key);
3. drop the old key once no row uses it (``accounts.key_usage`` tells).

Ciphertexts are bound to their row through the associated data (account id, login and
server), so copying one row's ciphertext into another row fails to decrypt instead of
handing out the wrong password. Decrypted passwords travel as ``pydantic.SecretStr``:
printing, logging or repr-ing them shows ``**********``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CryptoError(Exception):
    """Base class; messages never contain key material or plaintext."""


class KeyringError(CryptoError):
    """The keyring configuration is missing or malformed."""


class UnknownKeyError(CryptoError):
    """A row was encrypted with a key that is no longer in the keyring."""


class DecryptionError(CryptoError):
    """The ciphertext does not authenticate (tampered, swapped between rows or wrong key)."""


def generate_key(key_id: str) -> str:
    """A new keyring entry ``id:base64key`` to prepend to ``MT5_ENCRYPTION_KEYS``."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def account_aad(account_id: str, login: int, server: str) -> bytes:
    """Associated data tying a ciphertext to exactly one account row."""
    return f"mt5-account\x00{account_id}\x00{login}\x00{server}".encode()


@dataclass(frozen=True)
class Encrypted:
    key_id: str
    ciphertext: str  # base64(nonce || AES-GCM ciphertext with tag)


@dataclass(frozen=True)
class Keyring:
    """Named AES-GCM keys; ``primary`` encrypts, all of them decrypt."""

    primary: str
    _keys: dict[str, bytes] = field(repr=False)

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        entries = [part.strip() for part in spec.split(",") if part.strip()]
        if not entries:
            raise KeyringError("no encryption keys configured (expected 'id:base64key,...')")
        keys: dict[str, bytes] = {}
        for entry in entries:
            key_id, key = _parse_entry(entry)
            if key_id in keys:
                raise KeyringError(f"encryption key id {key_id!r} appears twice")
            keys[key_id] = key
        return cls(primary=next(iter(keys)), _keys=keys)

    @classmethod
    def from_env(cls, var: str = "MT5_ENCRYPTION_KEYS") -> Keyring:
        return cls.parse(os.environ.get(var, ""))

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: str | SecretStr, aad: bytes) -> Encrypted:
        value = plaintext.get_secret_value() if isinstance(plaintext, SecretStr) else plaintext
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.primary]).encrypt(nonce, value.encode(), aad)
        return Encrypted(self.primary, base64.b64encode(nonce + sealed).decode())

    def decrypt(self, encrypted: Encrypted, aad: bytes) -> SecretStr:
        key = self._keys.get(encrypted.key_id)
        if key is None:
            raise UnknownKeyError(
                f"encryption key {encrypted.key_id!r} is not in the keyring "
                f"(configured: {', '.join(self._keys)}); add it back to MT5_ENCRYPTION_KEYS"
            )
        try:
            raw = base64.b64decode(encrypted.ciphertext, validate=True)
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("stored password does not decrypt for this account") from exc
        return SecretStr(plain.decode())


def _parse_entry(entry: str) -> tuple[str, bytes]:
    key_id, sep, encoded = entry.partition(":")
    if not sep:
        raise KeyringError("each encryption key must be written 'id:base64key'")
    _check_key_id(key_id)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_")
    except binascii.Error as exc:
        raise KeyringError(f"encryption key {key_id!r} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise KeyringError(f"encryption key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
    return key_id, key


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.match(key_id):
        raise KeyringError(f"bad encryption key id {key_id!r} (letters, digits, '_', '-', '.')")
