"""MT5-credential sessions (seed 000) against a real uvicorn gateway and simulator terminals:
refused when off; login proves the password on a terminal and answers a token bound to that
account (configurable lifetime); the token works on REST and the stream; logout revokes it;
expired, forged and unaccepted tokens are refused; the Supabase path is unchanged. Most tests
share one SQLite gateway; login, use and logout (a ``revoked_sessions`` row another replica
reads) also run on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from helpers import GatewayServer, JwksServer
from identity_support import (
    ALICE,
    SESSION_SECRET,
    client,
    create_key,
    error_code,
    receive,
    running,
    settings_for,
    stream,
    supabase_token,
)
from pydantic import ValidationError
from server_process import TerminalServerProcess

from gateway.config import Settings

TTL_S = 7200
RIGHT = {"login": 10002, "password": "demo-10002", "server": "Sim-Demo"}


@pytest.fixture(scope="module")
def gateway(
    jwks: JwksServer, sims: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayServer]:
    db_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sessions') / 'gateway.db'}"
    settings = settings_for(
        jwks,
        sims,
        db_url,
        mt5_login_sessions=True,
        session_ttl_s=TTL_S,
        login_throttle_free_attempts=1000,
    )
    with running(settings) as server:
        yield server


def login(gateway: GatewayServer, **body: Any) -> httpx.Response:
    with client(gateway) as anonymous:
        return anonymous.post("/login", json={**RIGHT, **body})


def session_token(gateway: GatewayServer) -> dict[str, Any]:
    answer = login(gateway)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_login_logout(gateway: GatewayServer, jwks: JwksServer) -> None:
    session = session_token(gateway)
    token = session["session_token"]
    assert session["token_type"] == "bearer" and session["expires_in"] == TTL_S
    assert session["account_info"]["login"] == 10002
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == TTL_S and claims["iss"] == "mt5-gateway"
    assert claims["account_id"] == session["account_id"] and claims["sub"] == session["user_id"]
    with client(gateway, token) as http:
        assert http.get("/account/info").json()["login"] == 10002
        me = http.get("/me").json()
        assert me["auth"] == "mt5_session" and me["account_id"] == session["account_id"]
        assert me["scopes"] == ["read", "trade", "stream"]
        assert http.post("/logout").json() == {"message": "success"}
        assert error_code(http.get("/account/info")) == (401, "SESSION_REVOKED")
        assert error_code(http.post("/logout")) == (401, "SESSION_REVOKED")
    with client(gateway, supabase_token(jwks, ALICE)) as alice:  # Supabase: unchanged, no logout
        assert alice.get("/me").json()["auth"] == "supabase"
        assert error_code(alice.post("/logout")) == (400, "NOT_A_SESSION")


def test_login_and_logout_on_each_store(
    jwks: JwksServer, sims: TerminalServerProcess, any_db_url: str
) -> None:
    settings = settings_for(jwks, sims, any_db_url, mt5_login_sessions=True)
    with running(settings) as gateway:
        session = session_token(gateway)
        token = session["session_token"]
        with client(gateway, token) as http:
            assert http.get("/account/info").json()["login"] == 10002
            assert http.get("/me").json()["account_id"] == session["account_id"]
            assert http.post("/logout").json() == {"message": "success"}
            assert error_code(http.get("/account/info")) == (401, "SESSION_REVOKED")
        assert session_token(gateway)["account_id"] == session["account_id"]  # the same row
    with running(settings) as replica, client(replica, token) as http:  # stored, not in memory
        assert error_code(http.get("/me")) == (401, "SESSION_REVOKED")


def test_the_same_login_is_the_same_gateway_user(gateway: GatewayServer) -> None:
    first, second = session_token(gateway), session_token(gateway)
    assert first["session_token"] != second["session_token"]
    assert (first["user_id"], first["account_id"]) == (second["user_id"], second["account_id"])


def test_wrong_credentials(gateway: GatewayServer) -> None:
    answer = login(gateway, password="not-the-password")
    assert error_code(answer) == (400, "MT5_AUTH_FAILED")
    assert "session_token" not in answer.text
    assert error_code(login(gateway, password="")) == (422, "VALIDATION_ERROR")


def test_a_session_is_bound_to_its_account(gateway: GatewayServer) -> None:
    session = session_token(gateway)
    with client(gateway, session["session_token"]) as http:
        assert error_code(http.get("/accounts")) == (403, "SCOPE")
        assert error_code(http.get("/account/info", params={"account_id": "default"})) == (
            404,
            "ACCOUNT_NOT_FOUND",
        )
        key = create_key(http, scopes=["read"])  # a session may make keys: bound ones
        assert key["account_id"] == session["account_id"]
    with client(gateway, key["key"]) as bot:
        assert bot.get("/balance").status_code == 200


def test_expired_forged_and_foreign_tokens(gateway: GatewayServer) -> None:
    session = session_token(gateway)
    claims = jwt.decode(session["session_token"], options={"verify_signature": False})
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, SESSION_SECRET, "HS256")
    forged = jwt.encode(claims, "another-secret-" + "z" * 40, "HS256")
    no_account = jwt.encode(
        {k: v for k, v in claims.items() if k != "account_id"}, SESSION_SECRET, "HS256"
    )
    wrong_audience = jwt.encode({**claims, "aud": "authenticated"}, SESSION_SECRET, "HS256")
    for token, detail in (
        (expired, "Session has expired; log in again"),
        (forged, "Invalid session token"),
        (no_account, "Token is missing the 'account_id' claim"),
        (wrong_audience, "Invalid session token"),
    ):
        with client(gateway, token) as http:
            answer = http.get("/me")
            assert (answer.status_code, answer.json()["detail"]) == (401, detail)


def test_sessions_on_the_stream(gateway: GatewayServer) -> None:
    session = session_token(gateway)
    with stream(gateway) as ws:
        ws.send(f'{{"type": "auth", "token": "{session["session_token"]}"}}')
        hello = receive(ws)
        assert hello["type"] == "authenticated" and hello["user_id"] == session["user_id"]
        assert hello["expires_at"] == session["expires_at"].replace("+00:00", "Z")
        ws.send('{"type": "subscribe", "id": "p", "channel": "positions"}')
        assert receive(ws)["account_id"] == session["account_id"]


def test_refused_when_off_and_issuers_are_explicit(
    jwks: JwksServer, sims: TerminalServerProcess, sqlite_url: str, gateway: GatewayServer
) -> None:
    issued = session_token(gateway)["session_token"]
    off = settings_for(jwks, sims, sqlite_url, auth_issuers="supabase")
    assert off.mt5_login_sessions is False
    with running(off) as server:
        assert error_code(login(server)) == (404, "LOGIN_SESSIONS_DISABLED")
        with client(server, issued) as http:  # a valid gateway token, not accepted here
            assert http.get("/me").status_code == 401
        with client(server, supabase_token(jwks, ALICE)) as alice:
            assert alice.get("/me").status_code == 200


def test_a_deployment_without_supabase(
    jwks: JwksServer, sims: TerminalServerProcess, sqlite_url: str
) -> None:
    settings = settings_for(
        jwks, sims, sqlite_url, supabase_url=None, auth_issuers="gateway", mt5_login_sessions=True
    )
    with running(settings) as server:
        token = session_token(server)["session_token"]
        with client(server, token) as http:
            assert http.get("/balance").status_code == 200
        with client(server, supabase_token(jwks, ALICE)) as alice:
            assert error_code(alice.get("/me")) == (401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"mt5_login_sessions": True}, "needs gateway in AUTH_ISSUERS"),
        ({"auth_issuers": "gateway,okta"}, "AUTH_ISSUERS"),
        ({"auth_issuers": "gateway", "session_jwt_secret": None}, "SESSION_JWT_SECRET"),
        ({"auth_issuers": "gateway", "session_jwt_secret": "changeme"}, "SESSION_JWT_SECRET"),
        ({"auth_issuers": "gateway", "session_jwt_secret": "REPLACE_ME" * 5}, "SESSION_JWT"),
        ({"auth_issuers": "gateway", "session_jwt_secret": "short-secret"}, "SESSION_JWT_SECRET"),
    ],
)
def test_production_refuses_unsafe_session_settings(values: dict[str, Any], problem: str) -> None:
    base: dict[str, Any] = {
        "environment": "production",
        "supabase_url": "https://ref.supabase.co",
        "mt5_encryption_keys": "k1:" + "A" * 43 + "=",
    }
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]
    assert problem in str(refused.value)
    good = {"auth_issuers": "supabase,gateway", "session_jwt_secret": SESSION_SECRET}
    Settings(_env_file=None, **{**base, **good})  # type: ignore[call-arg]
