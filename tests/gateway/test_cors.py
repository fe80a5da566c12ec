"""CORS for browser frontends (issue 8 item 5): the headers the API documents may be sent, and the
ones clients need may be read, through the real gateway under uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import HS256_SECRET, GatewayServer, JwksServer, store_settings
from server_process import TerminalServerProcess

from gateway.config import Settings
from gateway.main import create_app

ORIGIN = "https://app.example.com"
SENT = ("authorization", "content-type", "idempotency-key", "x-request-id", "x-api-key")


@pytest.fixture(scope="module")
def cors_gateway(jwks: JwksServer, sim_server: TerminalServerProcess) -> Iterator[GatewayServer]:
    values: dict[str, Any] = {
        **store_settings(),
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "supabase_jwt_secret": HS256_SECRET,
        "terminals": f"t1={sim_server.host}:{sim_server.port}",
        "cors_origins": [ORIGIN],
    }
    with GatewayServer(create_app(Settings(_env_file=None, **values))) as server:  # type: ignore[call-arg]
        yield server


def test_preflight_for_a_trade_with_an_idempotency_key(cors_gateway: GatewayServer) -> None:
    response = httpx.options(
        f"{cors_gateway.url}/api/v1/trades",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ", ".join(SENT),
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert allowed >= set(SENT)


def test_other_origins_are_refused(cors_gateway: GatewayServer) -> None:
    response = httpx.options(
        f"{cors_gateway.url}/api/v1/trades",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key",
        },
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_clients_can_read_retry_after_and_the_request_id(cors_gateway: GatewayServer) -> None:
    response = httpx.get(
        f"{cors_gateway.url}/api/v1/me", headers={"Origin": ORIGIN, "X-Request-ID": "req-42"}
    )
    assert response.status_code == 401  # no token: an error answer is readable as well
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed >= {"retry-after", "x-request-id"}
    assert response.headers["x-request-id"] == "req-42"
