"""No API key, session token or signing secret in any log line (as issue 10's log test, for the
credentials of issue 13), read from a real ``uvicorn`` process at DEBUG with JSON logs; the
access line of a request made with a known API key names the key's public prefix."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_process import GatewayProcess
from helpers import JwksServer
from identity_support import ALICE, KEYRING, SESSION_SECRET, supabase_token
from server_process import TerminalServerProcess

MT5_PASSWORD, WRONG_PASSWORD = "demo-10002", "Wrong-Pw-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def day(
    jwks: JwksServer, sims: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("logs")
    env = {
        "ENVIRONMENT": "production",
        "SUPABASE_URL": jwks.supabase_url,
        "TERMINALS": ",".join(f"t{i}={sims.host}:{p}" for i, p in enumerate(sims.ports)),
        "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
        "KNOWN_SERVERS": "Sim-Demo",
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'gateway.db'}",
        "MT5_ENCRYPTION_KEYS": KEYRING,
        "AUTH_ISSUERS": "supabase,gateway",
        "MT5_LOGIN_SESSIONS": "true",
        "SESSION_JWT_SECRET": SESSION_SECRET,
        "LOGIN_THROTTLE_FREE_ATTEMPTS": "3",
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }
    alice_token = supabase_token(jwks, ALICE)
    seen: dict[str, int] = {}
    process = GatewayProcess(env)
    with process as gateway, httpx.Client(base_url=f"{process.url}/api/v1", timeout=60) as http:

        def call(name: str, method: str, path: str, token: str | None, **kw: Any) -> Any:
            headers = kw.pop("headers", {})
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            answer = http.request(method, path, headers=headers, **kw)
            seen[name] = answer.status_code
            return answer

        body = {"login": 10002, "password": MT5_PASSWORD, "server": "Sim-Demo"}
        call("connect", "POST", "/accounts/connect", alice_token, json=body)
        created = call(
            "create", "POST", "/keys", alice_token, json={"name": "bot", "scopes": ["read"]}
        ).json()
        key = created["key"]
        call("use", "GET", "/balance", key)
        call("header", "GET", "/me", None, headers={"X-API-Key": key})
        call("scope", "POST", "/trades", key, json={"symbol": "EURUSD", "volume": 0.01})
        wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        call("wrong_key", "GET", "/me", wrong)
        call("revoke", "DELETE", f"/keys/{created['id']}", alice_token)
        call("revoked", "GET", "/me", key)
        session = call("login", "POST", "/login", None, json=body).json()
        token = session["session_token"]
        call("session", "GET", "/account/info", token)
        call("bad_login", "POST", "/login", None, json={**body, "password": WRONG_PASSWORD})
        call("logout", "POST", "/logout", token)
        call("logged_out", "GET", "/me", token)
    return {
        "prefix": created["prefix"],
        "seen": seen,
        "lines": gateway.lines(),
        "secrets": [
            key,
            key.split("_", 2)[2],  # the secret part alone
            hashlib.sha256(key.encode()).hexdigest(),  # its stored digest
            wrong,
            token,
            token.rsplit(".", 1)[1],
            SESSION_SECRET,
            alice_token,
            MT5_PASSWORD,
            WRONG_PASSWORD,
        ],
    }


def test_the_calls_went_as_planned(day: dict[str, Any]) -> None:
    assert day["seen"] == {
        "connect": 201,
        "create": 201,
        "use": 200,
        "header": 200,
        "scope": 403,
        "wrong_key": 401,
        "revoke": 200,
        "revoked": 401,
        "login": 200,
        "session": 200,
        "bad_login": 400,
        "logout": 200,
        "logged_out": 401,
    }


def test_no_key_token_or_secret_in_any_line(day: dict[str, Any]) -> None:
    assert len(day["lines"]) > 20
    for line in day["lines"]:
        json.loads(line)  # every line is JSON
        for secret in day["secrets"]:
            assert secret not in line, (secret[:8], line)


def access_lines(day: dict[str, Any], method: str, route: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in day["lines"]]
    return [
        line
        for line in lines
        if line["logger"] == "gateway.access"
        and (line["method"], line["route"]) == (method, f"/api/v1{route}")
    ]


def test_access_lines_name_the_api_key_by_its_prefix(day: dict[str, Any]) -> None:
    prefix = day["prefix"]
    (balance,) = access_lines(day, "GET", "/balance")
    assert (balance["status"], balance["api_key"]) == (200, prefix)
    assert balance["user"]  # and its user, as for any caller
    (trade,) = access_lines(day, "POST", "/trades")
    assert (trade["status"], trade["api_key"]) == (403, prefix)
    me = {(line["status"], line.get("api_key")) for line in access_lines(day, "GET", "/me")}
    # by header, revoked (a known key: named), a wrong secret (unknown: not), a session token
    assert me == {(200, prefix), (401, prefix), (401, None)}
    (connect,) = access_lines(day, "POST", "/accounts/connect")
    assert "api_key" not in connect  # a Supabase token
