"""Every token rule, end to end through real uvicorn against /api/v1/me and a data endpoint."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
from helpers import (
    HS256_SECRET,
    USER_ID,
    GatewayServer,
    JwksServer,
    claims,
    new_es256,
    sign,
    sign_hs256,
)


def get_me(gateway: GatewayServer, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{gateway.url}/api/v1/me", headers=headers, timeout=30)


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "UNAUTHORIZED"


def test_es256_token_from_jwks(gateway: GatewayServer, jwks: JwksServer) -> None:
    response = get_me(gateway, sign(jwks.keys[0], claims(jwks.issuer)))
    assert response.status_code == 200
    assert response.json()["id"] == USER_ID
    assert response.json()["email"] == "trader@example.com"


def test_rs256_token_from_jwks(gateway: GatewayServer, jwks: JwksServer) -> None:
    assert get_me(gateway, sign(jwks.keys[1], claims(jwks.issuer))).status_code == 200


def test_hs256_token_with_configured_secret(gateway: GatewayServer, jwks: JwksServer) -> None:
    assert get_me(gateway, sign_hs256(claims(jwks.issuer))).status_code == 200


def test_valid_token_reaches_the_data(gateway: GatewayServer, jwks: JwksServer) -> None:
    headers = {"Authorization": f"Bearer {sign(jwks.keys[0], claims(jwks.issuer))}"}
    response = httpx.get(f"{gateway.url}/api/v1/account/info", headers=headers, timeout=30)
    assert response.status_code == 200
    assert response.json()["login"] == 10001


def test_missing_token(gateway: GatewayServer) -> None:
    assert_401(get_me(gateway, None))
    response = httpx.get(f"{gateway.url}/api/v1/account/info", timeout=30)
    assert_401(response)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "Token has expired"),
        ({"aud": "anon"}, "audience"),
        ({"iss": "https://other.supabase.co/auth/v1"}, "issuer"),
        ({"role": "service_role"}, "role"),
        ({"role": "anon"}, "role"),
        ({"sub": None}, "sub"),
        ({"exp": None}, "exp"),
        ({"aud": None}, "aud"),
        ({"is_anonymous": True}, "Anonymous"),
    ],
)
def test_claim_rules(
    gateway: GatewayServer, jwks: JwksServer, overrides: dict[str, object], message: str
) -> None:
    for token in (
        sign(jwks.keys[0], claims(jwks.issuer, **overrides)),
        sign_hs256(claims(jwks.issuer, **overrides)),
    ):
        response = get_me(gateway, token)
        assert_401(response)
        assert message in response.json()["detail"]


def test_anon_and_service_role_keys_are_not_logins(gateway: GatewayServer) -> None:
    now = int(time.time())
    for role in ("anon", "service_role"):
        key = {"iss": "supabase", "ref": "abcdefgh", "role": role, "iat": now, "exp": now + 10**8}
        assert_401(get_me(gateway, sign_hs256(key)))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none(gateway: GatewayServer, jwks: JwksServer) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(jwks.issuer))}."
    response = get_me(gateway, token)
    assert_401(response)
    assert response.json()["detail"] == "Unsupported token algorithm"


def test_alg_confusion_hs256_signed_with_the_public_key(
    gateway: GatewayServer, jwks: JwksServer
) -> None:
    import hashlib
    import hmac

    rsa_key = jwks.keys[1]
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid})
    body = _b64(claims(jwks.issuer))
    mac = hmac.new(rsa_key.public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert_401(get_me(gateway, token))


def test_es256_header_on_an_rsa_key(gateway: GatewayServer, jwks: JwksServer) -> None:
    # Signed with the EC key but naming the RSA key's kid: the key's type decides, not the token.
    token = jwt.encode(claims(jwks.issuer), jwks.keys[0].private, "ES256", headers={"kid": "rs-1"})
    response = get_me(gateway, token)
    assert_401(response)
    assert "does not match" in response.json()["detail"]


def test_wrong_signature(gateway: GatewayServer, jwks: JwksServer) -> None:
    impostor = new_es256("es-1")  # same kid, different key
    assert_401(get_me(gateway, sign(impostor, claims(jwks.issuer))))
    assert_401(get_me(gateway, sign_hs256(claims(jwks.issuer), secret=HS256_SECRET + "x")))


def test_malformed_token(gateway: GatewayServer) -> None:
    response = get_me(gateway, "not-a-jwt")
    assert_401(response)
    assert response.json()["detail"] == "Malformed token"


def test_unknown_kid_refreshes_then_401_and_rotation_works(
    gateway: GatewayServer, jwks: JwksServer
) -> None:
    rotated = new_es256("es-rotated")
    token = sign(rotated, claims(jwks.issuer))
    hits = jwks.hits
    assert_401(get_me(gateway, token))
    assert jwks.hits == hits + 1  # the unknown kid made the gateway refetch once
    jwks.keys.append(rotated)
    try:
        assert get_me(gateway, token).status_code == 200
    finally:
        jwks.keys.remove(rotated)


def test_jwks_down_is_503_not_401(gateway: GatewayServer, jwks: JwksServer) -> None:
    token = sign(new_es256("es-unseen"), claims(jwks.issuer))
    jwks.down = True
    try:
        response = get_me(gateway, token)
    finally:
        jwks.down = False
    assert response.status_code == 503
    assert response.json()["code"] == "AUTH_UNAVAILABLE"
    assert response.headers["retry-after"] == "5"
