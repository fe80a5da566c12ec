"""The public /health names nobody's MT5 login (issue 8 item 7).

A multi-tenant gateway (no single-tenant account configured for its users) on the real simulator:
users connect accounts and one fails a login, so the pool holds logins and a ``last_error`` that
quotes the attempted one. Neither /health nor /health/ready may show any of it; the admin-only
``GET /api/v1/admin/pool`` shows all of it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import HS256_SECRET, GatewayServer, JwksServer, claims, sign, store_settings
from server_process import TerminalServerProcess

from gateway.config import Settings
from gateway.main import create_app

SEED_KEYS = {
    "status",
    "mt5_available",
    "mt5_connected",
    "mt5_library",
    "supabase_available",
    "account",
    "timestamp",
}
SECRETS_OF_OTHERS = ("10002", "10003", "Sim-Demo", "Authorization failed", "login to")


@pytest.fixture(scope="module")
def multi_tenant(jwks: JwksServer, sim_server: TerminalServerProcess) -> Iterator[GatewayServer]:
    values: dict[str, Any] = {
        **store_settings(allowed_user_ids=[]),
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "supabase_jwt_secret": HS256_SECRET,
        "terminals": f"t1={sim_server.host}:{sim_server.port}",
        "known_servers": ["Sim-Demo"],
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    with GatewayServer(create_app(settings)) as server:
        yield server


def as_user(jwks: JwksServer, gateway: GatewayServer, sub: str, **extra: Any) -> httpx.Client:
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=sub, **extra))
    return httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_public_health_shows_no_logins_servers_or_error_text(
    jwks: JwksServer, multi_tenant: GatewayServer
) -> None:
    with as_user(jwks, multi_tenant, str(uuid.uuid4())) as user:
        connected = user.post(
            "/api/v1/accounts/connect",
            json={"login": 10002, "password": "demo-10002", "server": "Sim-Demo"},
        )
        assert connected.status_code == 201, connected.text
        refused = user.post(
            "/api/v1/accounts/test-connection",
            json={"login": 10003, "password": "wrong", "server": "Sim-Demo"},
        )
        assert refused.json()["code"] == "MT5_AUTH_FAILED"

    with as_user(jwks, multi_tenant, "ops", app_metadata={"role": "admin"}) as ops:
        full = ops.get("/api/v1/admin/pool")
    assert full.status_code == 200, full.text
    detail = full.text  # the admin view has it all: the test below is not vacuous
    assert "10003" in detail and "Sim-Demo" in detail and "login to" in detail

    for path in ("/health", "/health/ready"):
        response = httpx.get(f"{multi_tenant.url}{path}", timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.keys() >= SEED_KEYS
        assert body["account"] is None and body["mt5_connected"] is True
        assert [t["name"] for t in body["terminals"]] == ["t1"]
        shown = json.dumps({k: v for k, v in body.items() if k != "timestamp"})  # µs digits
        for leak in SECRETS_OF_OTHERS:
            assert leak not in shown, (path, leak)


def test_the_pool_detail_is_for_admins_only(jwks: JwksServer, multi_tenant: GatewayServer) -> None:
    assert httpx.get(f"{multi_tenant.url}/api/v1/admin/pool").status_code == 401
    with as_user(jwks, multi_tenant, str(uuid.uuid4())) as user:
        response = user.get("/api/v1/admin/pool")
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
