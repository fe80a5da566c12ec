"""Every operation of the OpenAPI schema, fed generated (mostly wrong) input by schemathesis
against a gateway of its own: a client mistake never gets a 500, and every error answer is
``{"detail": ..., "code": ...}``. The gateway and its simulator are this module's alone, since
the generated calls trade, close and connect accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from helpers import HS256_SECRET, GatewayServer, JwksServer, claims, sign, store_settings
from hypothesis import HealthCheck, settings
from server_process import start_terminal_server

from gateway.config import Settings
from gateway.main import create_app


@pytest.fixture(scope="module")
def fuzz_gateway(jwks: JwksServer) -> Iterator[GatewayServer]:
    with start_terminal_server() as sim:
        values: dict[str, Any] = {
            **store_settings(),
            "environment": "production",
            "supabase_url": jwks.supabase_url,
            "supabase_jwt_secret": HS256_SECRET,
            "terminals": f"t1={sim.host}:{sim.port}",
            "server_utc_offsets": "Sim-Demo=7200",
            "terminal_timeout_s": 10.0,
        }
        app = create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        with GatewayServer(app) as server:
            yield server


@pytest.fixture(scope="module")
def api_schema(fuzz_gateway: GatewayServer) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_gateway.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same inputs every run: a failure here reproduces
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_for_any_input(case: Any, jwks: JwksServer) -> None:
    token = sign(jwks.keys[0], claims(jwks.issuer))
    response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code != 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str | list), where
        assert isinstance(body.get("code"), str), where
