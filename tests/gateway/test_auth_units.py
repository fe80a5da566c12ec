"""JWKS cache bounds (with an injected clock), settings rules, dev keys, HS256 off by default."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from helpers import GatewayServer, JwksServer, claims, new_es256, sign, sign_hs256, store_settings
from pydantic import ValidationError

from gateway.auth.devkeys import load_dev_keys, with_dev_secrets
from gateway.auth.jwks import JwksCache
from gateway.auth.verifier import TokenVerifier
from gateway.config import Settings, parse_offsets, parse_terminals
from gateway.errors import AuthError, AuthUnavailable
from gateway.main import create_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_kid_refresh_is_bounded_and_cache_expires(jwks: JwksServer) -> None:
    async def run() -> None:
        clock = FakeClock()
        async with httpx.AsyncClient() as http:
            cache = JwksCache(f"{jwks.url}/jwks", http, ttl_s=600, min_refresh_s=30, clock=clock)
            await cache.get("es-1")
            assert cache.fetches == 1
            with pytest.raises(AuthError):
                await cache.get("nope")
            assert cache.fetches == 1  # just fetched: an unknown kid does not refetch yet
            clock.now += 31
            for _ in range(5):
                with pytest.raises(AuthError):
                    await cache.get("nope")
            assert cache.fetches == 2  # one refresh for the burst of unknown kids
            clock.now += 31
            with pytest.raises(AuthError):
                await cache.get("nope")
            assert cache.fetches == 3
            await cache.get("es-1")
            assert cache.fetches == 3  # known kid, fresh cache: no fetch
            clock.now += 600
            await cache.get("es-1")
            assert cache.fetches == 4  # expired after the TTL
            jwks.down = True
            try:
                clock.now += 600
                with pytest.raises(AuthUnavailable):
                    await cache.get("es-1")
                with pytest.raises(AuthUnavailable):  # no hammering right after a failure
                    await cache.get("es-1")
                assert cache.fetches == 5
            finally:
                jwks.down = False

    asyncio.run(run())


def test_jwks_unreachable_port_is_auth_unavailable() -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as http:
            cache = JwksCache("http://127.0.0.1:9/jwks.json", http)
            with pytest.raises(AuthUnavailable):
                await cache.get("any")

    asyncio.run(run())


def test_hs256_refused_without_a_secret(jwks: JwksServer, sim_server: object) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="production",
        supabase_url=jwks.supabase_url,
        terminals="t=127.0.0.1:9",
        **store_settings(),
    )
    with GatewayServer(create_app(settings)) as server:
        url = f"{server.url}/api/v1/me"
        hs = httpx.get(url, headers={"Authorization": f"Bearer {sign_hs256(claims(jwks.issuer))}"})
        assert hs.status_code == 401
        assert hs.json()["detail"] == "HS256 tokens are not accepted"
        es = httpx.get(
            url, headers={"Authorization": f"Bearer {sign(jwks.keys[0], claims(jwks.issuer))}"}
        )
        assert es.status_code == 200
        # the terminal is unreachable: data endpoints say 503 with Retry-After, not 500
        data = httpx.get(
            f"{server.url}/api/v1/account/info",
            headers={"Authorization": f"Bearer {sign(jwks.keys[0], claims(jwks.issuer))}"},
        )
        assert data.status_code == 503
        assert data.json()["code"] == "TERMINAL_UNAVAILABLE"
        assert data.headers["retry-after"] == "5"


@pytest.mark.parametrize(
    "secret",
    ["super-secret-jwt-token-with-at-least-32-characters-long", "short", "dev-only-" + "a" * 40],
)
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            supabase_url="https://x.supabase.co",
            supabase_jwt_secret=secret,
        )


def test_production_needs_supabase_url() -> None:
    with pytest.raises(ValidationError, match="SUPABASE_URL"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]


def test_derived_urls_and_overrides() -> None:
    s = Settings(_env_file=None, supabase_url="https://ref.supabase.co/")  # type: ignore[call-arg]
    assert s.jwt_issuer == "https://ref.supabase.co/auth/v1"
    assert s.jwks_url == "https://ref.supabase.co/auth/v1/.well-known/jwks.json"
    o = Settings(  # type: ignore[call-arg]
        _env_file=None,
        supabase_url="https://ref.supabase.co",
        supabase_jwt_issuer="https://auth.example.com/auth/v1",
        supabase_jwks_url="https://keys.example.com/jwks",
    )
    assert (o.jwt_issuer, o.jwks_url) == (
        "https://auth.example.com/auth/v1",
        "https://keys.example.com/jwks",
    )


def test_env_wins_over_dev_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dev.json"
    generated = with_dev_secrets(Settings(_env_file=None, dev_secrets_file=path))  # type: ignore[call-arg]
    assert generated.supabase_jwt_secret is not None
    first = generated.supabase_jwt_secret.get_secret_value()
    assert first.startswith("dev-only-")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = with_dev_secrets(Settings(_env_file=None, dev_secrets_file=path))  # type: ignore[call-arg]
    assert again.supabase_jwt_secret is not None
    assert again.supabase_jwt_secret.get_secret_value() == first  # generated once, kept
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "from-the-environment-" + "y" * 20)
    env = with_dev_secrets(Settings(_env_file=None, dev_secrets_file=path))  # type: ignore[call-arg]
    assert env.supabase_jwt_secret is not None
    assert env.supabase_jwt_secret.get_secret_value().startswith("from-the-environment-")
    assert load_dev_keys(path).public_jwk()["alg"] == "ES256"


def test_terminal_and_offset_parsing() -> None:
    endpoints = parse_terminals("mt5a=10.0.0.5:8001, 10.0.0.6:8002")
    assert [(e.name, e.host, e.port) for e in endpoints] == [
        ("mt5a", "10.0.0.5", 8001),
        ("mt5-2", "10.0.0.6", 8002),
    ]
    assert parse_offsets("Sim-Demo=7200,Other=-3600") == {"Sim-Demo": 7200, "Other": -3600}
    for bad in ("nohost", "a=b:99999", "a=h:1,a=h:2"):
        with pytest.raises(ValueError):
            parse_terminals(bad)
    with pytest.raises(ValueError):
        parse_offsets("X=99999999")


def test_rotated_key_unknown_until_published(jwks: JwksServer) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as http:
            cache = JwksCache(f"{jwks.url}/jwks", http, min_refresh_s=0)
            key = new_es256("later")
            with pytest.raises(AuthError):
                await cache.get("later")
            jwks.keys.append(key)
            try:
                assert (await cache.get("later")).algorithm_name == "ES256"
            finally:
                jwks.keys.remove(key)

    asyncio.run(run())


def test_verified_tokens_are_remembered_for_a_minute_at_most() -> None:
    issuer = "https://example.supabase.co/auth/v1"
    clock = FakeClock()
    clock.now = time.time()
    verifier = TokenVerifier(
        issuer=issuer, audience="authenticated", jwks=None, hs256_secret="a" * 40, clock=clock
    )
    token = sign_hs256(claims(issuer), "a" * 40)
    user = asyncio.run(verifier.principal(token)).user
    verifier._secret = "b" * 40  # the project rotates its secret: the old token's key is gone
    assert asyncio.run(verifier.principal(token)).user == user  # remembered, no signature check
    clock.now += 61
    with pytest.raises(AuthError):
        asyncio.run(verifier.principal(token))
    with pytest.raises(AuthError):  # refusals are never remembered as successes
        asyncio.run(verifier.principal(token))
