"""Error mapping (404/422/503/504) through the real stack, OpenAPI completeness, embedded sim."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import (
    FROZEN_MS,
    GatewayServer,
    JwksServer,
    claims,
    login_default,
    sign,
    store_settings,
)

from gateway.config import Settings
from gateway.main import create_app

REPO = Path(__file__).resolve().parents[2]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and isinstance(body["detail"], str)
    return body


def test_unknown_symbol_is_404(client: httpx.Client) -> None:
    for path in (
        "/api/v1/symbols/NOPE",
        "/api/v1/symbols/NOPE/tick",
        "/api/v1/market-data/NOPE",
        "/api/v1/ticks/NOPE",
    ):
        body = assert_error(client.get(path), 404, "SYMBOL_NOT_FOUND")
        assert body["detail"] == "Symbol NOPE not found"


def test_empty_range_is_no_data(client: httpx.Client) -> None:
    # Saturday: the forex market is closed, so no bars exist
    response = client.get(
        "/api/v1/market-data/EURUSD/range",
        params={"start_date": "2025-11-22T06:00:00Z", "end_date": "2025-11-22T08:00:00Z"},
    )
    assert assert_error(response, 404, "NO_DATA")["detail"] == "No data for EURUSD"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/market-data/EURUSD", {"bars": 0}),
        ("/api/v1/market-data/EURUSD", {"bars": 10001}),
        ("/api/v1/market-data/EURUSD", {"timeframe": "H5"}),
        ("/api/v1/market-data/EUR%20USD", {}),
        ("/api/v1/market-data/" + "A" * 30, {}),
        ("/api/v1/market-data/EURUSD/range", {"start_date": "yesterday"}),
        (
            "/api/v1/market-data/EURUSD/range",
            {"start_date": "2025-11-25", "end_date": "2025-11-24"},
        ),
        ("/api/v1/market-data/EURUSD/range", {"timeframe": "M1", "start_date": "2020-01-01"}),
        ("/api/v1/ticks/EURUSD", {"count": 0}),
        ("/api/v1/ticks/EURUSD", {"flags": "some"}),
        ("/api/v1/positions", {"symbol": "EUR'USD"}),
        ("/api/v1/positions", {"ticket": -1}),
        ("/api/v1/history/deals", {"ticket": 1, "position": 2}),
        ("/api/v1/history/orders", {"ticket": 1, "start_date": "2025-01-01"}),
    ],
)
def test_bad_input_is_422_before_the_terminal(
    client: httpx.Client, path: str, params: dict[str, Any]
) -> None:
    body = assert_error(client.get(path, params=params), 422, "VALIDATION_ERROR")
    assert body["detail"]


def test_broker_disconnected_is_503(client: httpx.Client, gateway: Any, control: Any) -> None:
    control.set_broker_connected(connected=False)
    try:
        response = client.get("/api/v1/market-data/EURUSD", params={"bars": 5})
        assert_error(response, 503, "TERMINAL_UNAVAILABLE")
        assert response.headers["retry-after"] == "5"
        ready = httpx.get(f"{gateway.url}/health/ready")
        assert ready.status_code == 503 and ready.json()["mt5_connected"] is False
        assert httpx.get(f"{gateway.url}/health").json()["status"] == "degraded"
    finally:
        control.set_broker_connected(connected=True)
    assert client.get("/api/v1/market-data/EURUSD", params={"bars": 5}).status_code == 200


def until_ok(client: httpx.Client, path: str, attempts: int = 100) -> list[int]:
    """Statuses of ``path`` until it answers 200: a terminal taken out of the pool comes back
    at the pool's next health check (every 0.2 s in these tests)."""
    statuses: list[int] = []
    for _ in range(attempts):
        statuses.append(client.get(path).status_code)
        if statuses[-1] == 200:
            break
        time.sleep(0.05)
    return statuses


def test_dropped_connection_recovers(client: httpx.Client, control: Any) -> None:
    control.drop_connections()
    statuses = until_ok(client, "/api/v1/balance")
    assert statuses[-1] == 200
    assert set(statuses) <= {200, 503}


def test_terminal_timeout_is_504(client: httpx.Client, control: Any) -> None:
    control.hang_calls(seconds=5)  # the gateway's terminal timeout is 3 s (conftest)
    try:
        assert_error(client.get("/api/v1/account/info"), 504, "TERMINAL_TIMEOUT")
    finally:
        control.hang_calls(seconds=0)
    statuses = until_ok(client, "/api/v1/balance")
    assert statuses[-1] == 200
    assert set(statuses) <= {200, 503}


def test_openapi_is_complete(gateway: Any) -> None:
    spec = httpx.get(f"{gateway.url}/openapi.json").json()
    assert "SupabaseJWT" in spec["components"]["securitySchemes"]
    expected = {
        "/health",
        "/health/ready",
        "/api/v1/me",
        "/api/v1/account/info",
        "/api/v1/balance",
        "/api/v1/equity",
        "/api/v1/snapshot",
        "/api/v1/symbols",
        "/api/v1/symbols/{symbol}",
        "/api/v1/symbols/{symbol}/tick",
        "/api/v1/market-data/{symbol}",
        "/api/v1/market-data/{symbol}/range",
        "/api/v1/ticks/{symbol}",
        "/api/v1/positions",
        "/api/v1/orders",
        "/api/v1/history/deals",
        "/api/v1/history/orders",
        "/api/v1/server-time",
    }
    assert expected <= spec["paths"].keys()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            if ok != "204":  # No Content has no body to describe
                schema = op["responses"][ok]["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path)
            if path.startswith("/api/") and path != "/api/v1/login":  # login is public
                assert op["security"] == [{"SupabaseJWT": []}, {"ApiKey": []}], path
                assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
                assert op["summary"] and op["description"], path


def test_offset_detected_when_not_configured(
    jwks: JwksServer, sim_server: Any, control: Any
) -> None:
    control.set_time(ms=int(time.time() * 1000))  # the sim's clock in step with the gateway's
    control.unfreeze_time()
    try:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            supabase_url=jwks.supabase_url,
            terminals=f"t1={sim_server.host}:{sim_server.port}",
            **store_settings(),
        )
        login_default(sim_server.host, sim_server.port)
        with GatewayServer(create_app(settings)) as server:
            token = sign(jwks.keys[0], claims(jwks.issuer))
            body = httpx.get(
                f"{server.url}/api/v1/server-time", headers={"Authorization": f"Bearer {token}"}
            ).json()
        assert body["offset_source"] == "detected" and body["server_utc_offset_s"] == 7200
    finally:
        control.freeze_time(ms=FROZEN_MS)


def test_embedded_simulator_and_dev_token(tmp_path: Path) -> None:
    """`make run` path: TERMINALS=sim starts the simulator, logs in 10001; dev token works."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE", "TERMINALS"))}
    env["DEV_SECRETS_FILE"] = str(tmp_path / "dev-secrets.json")
    token = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dev_token.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        dev_secrets_file=tmp_path / "dev-secrets.json",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
    )
    with GatewayServer(create_app(settings)) as server:
        headers = {"Authorization": f"Bearer {token}"}
        body = httpx.get(f"{server.url}/api/v1/balance", headers=headers, timeout=30).json()
    assert body == {"login": 10001, "balance": 10000.0, "credit": 0.0, "currency": "USD"}
