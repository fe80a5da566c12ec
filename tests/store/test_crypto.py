"""The keyring on its own: parsing, sealing, binding to a row, failing clearly."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from gateway.store.crypto import (
    DecryptionError,
    Encrypted,
    Keyring,
    KeyringError,
    UnknownKeyError,
    account_aad,
    generate_key,
)

AAD = account_aad("acc-1", 10001, "Sim-Demo")


def test_first_key_encrypts_and_every_key_decrypts() -> None:
    k1 = generate_key("k1")
    old_secret = Keyring.parse(k1).encrypt("hunter2", AAD)
    rotated = Keyring.parse(f"{generate_key('k2')},{k1}")
    assert rotated.primary == "k2" and rotated.key_ids == ("k2", "k1")
    assert rotated.encrypt("x", AAD).key_id == "k2"
    assert rotated.decrypt(old_secret, AAD).get_secret_value() == "hunter2"


def test_ciphertext_is_bound_to_its_row() -> None:
    ring = Keyring.parse(generate_key("k1"))
    sealed = ring.encrypt("hunter2", AAD)
    for other in (account_aad("acc-2", 10001, "Sim-Demo"), account_aad("acc-1", 10002, "Sim-Demo")):
        with pytest.raises(DecryptionError):
            ring.decrypt(sealed, other)


def test_tampered_or_garbage_ciphertext_is_refused() -> None:
    ring = Keyring.parse(generate_key("k1"))
    sealed = ring.encrypt("hunter2", AAD)
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt(Encrypted("k1", base64.b64encode(bytes(raw)).decode()), AAD)
    with pytest.raises(DecryptionError):
        ring.decrypt(Encrypted("k1", "not base64!"), AAD)


def test_unknown_key_names_the_missing_id_and_no_secret() -> None:
    sealed = Keyring.parse(generate_key("gone")).encrypt("hunter2", AAD)
    spec = generate_key("k9")
    with pytest.raises(UnknownKeyError, match="'gone'") as err:
        Keyring.parse(spec).decrypt(sealed, AAD)
    assert spec.split(":")[1] not in str(err.value)


def test_same_plaintext_never_gives_the_same_ciphertext() -> None:
    ring = Keyring.parse(generate_key("k1"))
    assert ring.encrypt("hunter2", AAD).ciphertext != ring.encrypt("hunter2", AAD).ciphertext


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no encryption keys"),
        ("k1", "id:base64key"),
        ("k1:c2hvcnQ=", "32 bytes"),
        ("bad id:" + "A" * 44, "bad encryption key id"),
        ("k1:@@@@", "32 bytes|base64"),
    ],
)
def test_bad_keyring_specs_fail_clearly(spec: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        Keyring.parse(spec)


def test_duplicate_key_id_is_refused() -> None:
    with pytest.raises(KeyringError, match="twice"):
        Keyring.parse(f"{generate_key('k1')},{generate_key('k1')}")


def test_urlsafe_and_unpadded_keys_are_accepted() -> None:
    raw = bytes(range(200, 232))
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    ring = Keyring.parse(f"k1:{urlsafe}")
    assert ring.decrypt(ring.encrypt("p", AAD), AAD).get_secret_value() == "p"


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT5_ENCRYPTION_KEYS", f" {generate_key('k2')} , {generate_key('k1')} ")
    assert Keyring.from_env().key_ids == ("k2", "k1")


def test_secrets_do_not_show_in_repr() -> None:
    ring = Keyring.parse(generate_key("k1"))
    key_b64 = base64.b64encode(ring._keys["k1"]).decode()
    password = ring.decrypt(ring.encrypt(SecretStr("hunter2"), AAD), AAD)
    assert "hunter2" not in repr(password) and "hunter2" not in str(password)
    assert key_b64 not in repr(ring) and "_keys" not in repr(ring)
