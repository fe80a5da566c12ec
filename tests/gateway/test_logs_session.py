"""Logs for operators (issue 10 item 5), read from a real ``uvicorn`` process.

A full session against a real terminal server that requires its shared secret: a single-tenant
login at startup, an account connected with its password, a wrong guess, a trade with an
Idempotency-Key, client errors, a bad token, an HS256 token; then a refused production start.
Every line both processes printed must be JSON, requests must have one access line each with the
promised fields, and no password, token or key used anywhere may appear in any line.
``LOG_FORMAT=text`` gives people a readable line instead.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_process import GatewayProcess
from helpers import FROZEN_MS, HS256_SECRET, JwksServer, claims, sign, sign_hs256
from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl

from gateway.store.crypto import generate_key

TERMINAL_SECRET = "Ts4Qw9Er2Ty7Ui0OpAs5Df8Gh"
KEYRING = generate_key("k1")
CONFIGURED_PASSWORD = "demo-10001"  # the single-tenant account: the simulator's own password
RIGHT, WRONG, WRONG_UPDATE = "demo-10003", "Wrong-Pw-Qx81Lm", "Nope-Zr55Tk90Vb"
IDEMPOTENCY_KEY = "order-7f3a9c21-55b0"


@pytest.fixture(scope="module")
def guarded_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TerminalServerProcess]:
    """A terminal server that refuses clients without the shared secret."""
    secret_file = tmp_path_factory.mktemp("secret") / "terminal-secret"
    secret_file.write_text(TERMINAL_SECRET)
    with start_terminal_server(extra_args=["--auth-secret-file", str(secret_file)]) as server:
        with SimControl(server.host, server.port, secret=TERMINAL_SECRET) as control:
            control.freeze_time(ms=FROZEN_MS)  # a Tuesday: the forex market is open
        yield server


def production_env(jwks: JwksServer, sim: TerminalServerProcess, folder: Path) -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "SUPABASE_URL": jwks.supabase_url,
        "SUPABASE_JWT_SECRET": HS256_SECRET,
        "TERMINALS": f"t1={sim.host}:{sim.port}",
        "TERMINAL_SECRET": TERMINAL_SECRET,
        "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
        "KNOWN_SERVERS": "Sim-Demo",
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'gateway.db'}",
        "MT5_ENCRYPTION_KEYS": KEYRING,
        "DEFAULT_ACCOUNT_LOGIN": "10001",
        "DEFAULT_ACCOUNT_PASSWORD": CONFIGURED_PASSWORD,
        "DEFAULT_ACCOUNT_SERVER": "Sim-Demo",
        "ALLOWED_USER_IDS": str(uuid.uuid4()),  # someone else: this session's user is not
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }


def session(gateway: GatewayProcess, es256: str, hs256: str) -> dict[str, httpx.Response]:
    """The calls of a working day, named; each sends its own X-Request-ID."""
    seen: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=gateway.url, timeout=60) as http:

        def call(name: str, method: str, path: str, token: str | None = es256, **kw: Any) -> None:
            headers = {"X-Request-ID": f"rq-{name}", **kw.pop("headers", {})}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            seen[name] = http.request(method, path, headers=headers, **kw)

        account = {"login": 10003, "server": "Sim-Demo"}
        call("health", "GET", "/health", token=None)
        call(
            "guess", "POST", "/api/v1/accounts/test-connection", json={**account, "password": WRONG}
        )
        call("connect", "POST", "/api/v1/accounts/connect", json={**account, "password": RIGHT})
        account_id = seen["connect"].json()["id"]
        call("info", "GET", "/api/v1/account/info")
        trade = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}
        call(
            "trade",
            "POST",
            "/api/v1/trades",
            json=trade,
            headers={"Idempotency-Key": IDEMPOTENCY_KEY},
        )
        call("positions", "GET", "/api/v1/positions", params={"account_id": account_id})
        call("update", "PUT", f"/api/v1/accounts/{account_id}", json={"password": WRONG_UPDATE})
        call("unknown_symbol", "GET", "/api/v1/symbols/NOPE")
        call("invalid", "POST", "/api/v1/accounts/connect", json={"password": RIGHT})
        call("bad_token", "GET", "/api/v1/me", token="not.a-real.token")
        call("hs256", "GET", "/api/v1/me", token=hs256)
    return seen


@pytest.fixture(scope="module")
def day(
    jwks: JwksServer, guarded_sim: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One session and one refused start: the answers, every line printed, the user."""
    folder = tmp_path_factory.mktemp("session")
    sub = str(uuid.uuid4())
    es256 = sign(jwks.keys[0], claims(jwks.issuer, sub=sub))
    hs256 = sign_hs256(claims(jwks.issuer, sub=sub))
    with GatewayProcess(production_env(jwks, guarded_sim, folder)) as gateway:
        seen = session(gateway, es256, hs256)
    refused_env = {**production_env(jwks, guarded_sim, folder), "SUPABASE_JWT_SECRET": "short"}
    refused = GatewayProcess(refused_env)
    assert refused.wait_exit() != 0
    return {
        "seen": seen,
        "lines": gateway.lines() + refused.lines(),
        "sub": sub,
        "tokens": [es256, hs256],
    }


def access_lines(day: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in day["lines"]]
    return {r["request_id"]: r for r in records if r["logger"] == "gateway.access"}


def test_the_session_went_as_planned(day: dict[str, Any]) -> None:
    seen: dict[str, httpx.Response] = day["seen"]
    statuses = {name: r.status_code for name, r in seen.items()}
    assert statuses == {
        "health": 200,
        "guess": 400,
        "connect": 201,
        "info": 200,
        "trade": 200,
        "positions": 200,
        "update": 400,
        "unknown_symbol": 404,
        "invalid": 422,
        "bad_token": 401,
        "hs256": 200,
    }, {name: r.text for name, r in seen.items() if r.status_code >= 300}


def test_no_password_token_or_key_in_any_line(day: dict[str, Any]) -> None:
    es256, hs256 = day["tokens"]
    secrets = [
        RIGHT, WRONG, WRONG_UPDATE, CONFIGURED_PASSWORD,  # MT5 passwords
        es256, es256.rsplit(".", 1)[1], hs256, hs256.rsplit(".", 1)[1], "not.a-real.token",
        HS256_SECRET, KEYRING, KEYRING.split(":", 1)[1], TERMINAL_SECRET,  # keys
        day["sub"],  # the user appears as a short hash only
    ]  # fmt: skip
    assert len(day["lines"]) > 20
    for line in day["lines"]:
        for secret in secrets:
            assert secret not in line, (secret, line)


def test_every_line_is_json(day: dict[str, Any]) -> None:
    records = [json.loads(line) for line in day["lines"]]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["level"] == "CRITICAL" and "refusing to start" in r["message"] for r in records)
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's own lines too


def test_one_access_line_per_request(day: dict[str, Any]) -> None:
    access = access_lines(day)
    for name, response in day["seen"].items():
        line = access[f"rq-{name}"]  # under the id the client sent, echoed in the answer
        assert response.headers["x-request-id"] == f"rq-{name}"
        assert line["status"] == response.status_code and line["duration_ms"] >= 0
        assert line["level"] in ("INFO", "DEBUG") and line["time"]


def test_access_lines_name_route_terminal_account_and_user(day: dict[str, Any]) -> None:
    access = access_lines(day)
    account_id = day["seen"]["connect"].json()["id"]
    info = access["rq-info"]
    assert info["route"] == "/api/v1/account/info" and info["terminal"] == "t1"
    assert info["user"] == hashlib.sha256(day["sub"].encode()).hexdigest()[:12]
    assert access["rq-update"]["route"] == "/api/v1/accounts/{account_id}"
    assert access["rq-update"]["account_id"] == account_id
    assert access["rq-positions"]["account_id"] == account_id
    assert access["rq-unknown_symbol"]["route"] == "/api/v1/symbols/{symbol}"
    assert "user" not in access["rq-bad_token"] and "user" not in access["rq-health"]
    for line in access.values():
        assert "10003" not in json.dumps(line)  # account ids, never MT5 logins


def test_access_line_names_the_current_account(day: dict[str, Any]) -> None:
    account_id = day["seen"]["connect"].json()["id"]
    assert access_lines(day)["rq-info"].get("account_id") == account_id


def test_generated_request_ids_are_echoed(
    jwks: JwksServer, guarded_sim: Any, tmp_path: Path
) -> None:
    with GatewayProcess(production_env(jwks, guarded_sim, tmp_path)) as gateway:
        first = httpx.get(f"{gateway.url}/api/v1/me")
        second = httpx.get(f"{gateway.url}/api/v1/me", headers={"X-Request-ID": "bad id\twith tab"})
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)  # generated, not the bad one
    logged = {json.loads(line).get("request_id") for line in gateway.lines()}
    assert set(ids) <= logged


def test_text_format_for_people(jwks: JwksServer, guarded_sim: Any, tmp_path: Path) -> None:
    env = {**production_env(jwks, guarded_sim, tmp_path), "LOG_FORMAT": "text"}
    with GatewayProcess(env) as gateway:
        httpx.get(f"{gateway.url}/api/v1/me", headers={"X-Request-ID": "rq-text"})
    lines = gateway.lines()
    (access,) = [line for line in lines if "gateway.access" in line and "/api/v1/me" in line]
    assert "GET /api/v1/me 401" in access and "[rq-text]" in access
    for line in lines:
        assert not line.startswith("{"), line
