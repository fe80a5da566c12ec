"""Shared pieces of the identity tests: settings, a running gateway (create_app with the stream
installed, under real uvicorn), callers with a Supabase token, an API key or a session token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from helpers import GatewayServer, JwksServer, claims, sign
from server_process import TerminalServerProcess
from websockets.sync.client import ClientConnection, connect

from gateway.config import Settings
from gateway.main import create_app
from gateway.store.crypto import generate_key

FROZEN_MS = 1_764_072_000_000  # Tuesday 2025-11-25 12:00 UTC: forex markets open
KEYRING = generate_key("id1")
SESSION_SECRET = "identity-session-secret-" + "q7" * 20
ALICE = "aaaaaaaa-0000-4000-8000-0000000000a1"
BOB = "bbbbbbbb-0000-4000-8000-0000000000b2"
ADMIN = "adadadad-0000-4000-8000-0000000000ad"
TEST_STREAM = {"stream_quote_interval_s": 0.05, "stream_account_interval_s": 0.1}


def settings_for(
    jwks: JwksServer, sims: TerminalServerProcess, db_url: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "terminals": ",".join(f"t{i + 1}={sims.host}:{p}" for i, p in enumerate(sims.ports)),
        "server_utc_offsets": "Sim-Demo=7200",
        "known_servers": "Sim-Demo",
        "database_url": db_url,
        "mt5_encryption_keys": KEYRING,
        "terminal_timeout_s": 5.0,
        "terminal_connect_timeout_s": 2.0,
        "pool_health_interval_s": 0.2,
        "auth_issuers": "supabase,gateway",
        "session_jwt_secret": SESSION_SECRET,
        "log_level": "DEBUG",
        **TEST_STREAM,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def running(settings: Settings) -> Iterator[GatewayServer]:
    """The real app (with the stream, as deployments wire it) under uvicorn."""
    with GatewayServer(create_app(settings)) as server:
        yield server


def supabase_token(jwks: JwksServer, sub: str, **extra: Any) -> str:
    return sign(jwks.keys[0], claims(jwks.issuer, sub=sub, **extra))


def client(gateway: GatewayServer, token: str | None = None, **headers: str) -> httpx.Client:
    """An HTTP client sending ``token`` as a bearer token (and any other headers)."""
    if token is not None:
        headers = {"Authorization": f"Bearer {token}", **headers}
    return httpx.Client(base_url=f"{gateway.url}/api/v1", headers=headers, timeout=60)


def connect_account(http: httpx.Client, login: int, **extra: Any) -> str:
    body = {"login": login, "password": f"demo-{login}", "server": "Sim-Demo", **extra}
    answer = http.post("/accounts/connect", json=body)
    assert answer.status_code == 201, answer.text
    account_id: str = answer.json()["id"]
    return account_id


def create_key(http: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = http.post("/keys", json={"name": "bot", **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def error_code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json().get("code", "")


@contextmanager
def stream(gateway: GatewayServer) -> Iterator[ClientConnection]:
    url = gateway.url.replace("http://", "ws://") + "/api/v1/stream"
    with connect(url, open_timeout=30, close_timeout=5) as ws:
        yield ws


def receive(ws: ClientConnection, timeout_s: float = 30.0) -> dict[str, Any]:
    """The next message that is not a heartbeat (frames holding a JSON array of messages are
    read one message at a time)."""
    pending: list[dict[str, Any]] = getattr(ws, "_pending_messages", [])
    ws._pending_messages = pending  # type: ignore[attr-defined]
    while True:
        if not pending:
            frame = json.loads(ws.recv(timeout=timeout_s))
            pending.extend(frame if isinstance(frame, list) else [frame])
        message = pending.pop(0)
        if message.get("type") != "ping":
            return message
