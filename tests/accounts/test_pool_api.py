"""The pool behind the API, with two simulator terminals: affinity, 503 when busy, /health and
/metrics, single-tenant mode. SQLite only (the store is not what these tests are about)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from accounts_support import ALICE, BOB, settings_for
from helpers import GatewayServer, JwksServer, claims, sign
from server_process import TerminalServerProcess
from sim_control import SimControl

from gateway.main import create_app

ADMIN = "adadadad-0000-4000-8000-00000000000a"


def client_for(jwks: JwksServer, gateway: GatewayServer, sub: str) -> httpx.Client:
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=sub))
    return httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture
def start(jwks: JwksServer, sims: TerminalServerProcess, tmp_path: Path) -> Iterator[Any]:
    servers: list[GatewayServer] = []

    def run(**extra: Any) -> GatewayServer:
        url = f"sqlite+aiosqlite:///{tmp_path / f'g{len(servers)}.db'}"
        server = GatewayServer(create_app(settings_for(jwks, sims, url, **extra))).__enter__()
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.__exit__(None, None, None)


def pool_state(jwks: JwksServer, gateway: GatewayServer) -> dict[str, Any]:
    """The pool's full detail, from the admin endpoint (the public /health names no logins)."""
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=ADMIN, app_metadata={"role": "admin"}))
    response = httpx.get(
        f"{gateway.url}/api/v1/admin/pool",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()["pool"]
    return state


def test_two_users_alternating_do_not_switch_each_time(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    alice, bob = (
        client_for(jwks, gateway, str(uuid.uuid4())),
        client_for(jwks, gateway, str(uuid.uuid4())),
    )
    for client, login in ((alice, 10001), (bob, 10002)):
        body = {"login": login, "password": f"demo-{login}", "server": "Sim-Demo"}
        assert client.post("/api/v1/accounts/connect", json=body).status_code == 201
    for client in (alice, bob):  # each account settles on a terminal
        assert client.get("/api/v1/balance").status_code == 200
    before = pool_state(jwks, gateway)
    for _ in range(10):
        assert alice.get("/api/v1/balance").json()["login"] == 10001
        assert bob.get("/api/v1/equity").json()["login"] == 10002
    after = pool_state(jwks, gateway)
    assert after["switches"] == before["switches"]  # 20 alternating requests, no login
    assert after["served"] >= before["served"] + 20
    held = {(t["login"], t["server"]) for t in after["terminals"]}
    assert held == {(10001, "Sim-Demo"), (10002, "Sim-Demo")}
    status_terminals = set()
    for client in (alice, bob):
        account_id = client.get("/api/v1/accounts").json()["current_id"]
        status_terminals.add(client.get(f"/api/v1/accounts/{account_id}/status").json()["terminal"])
    assert status_terminals == {"t1", "t2"}


def test_market_data_uses_any_terminal_on_the_server(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    client = client_for(jwks, gateway, str(uuid.uuid4()))
    body = {"login": 10003, "password": "demo-10003", "server": "Sim-Demo"}
    assert client.post("/api/v1/accounts/connect", json=body).status_code == 201
    before = pool_state(jwks, gateway)["switches"]
    for _ in range(5):
        assert client.get("/api/v1/market-data/EURUSD", params={"bars": 5}).status_code == 200
    assert pool_state(jwks, gateway)["switches"] == before


def test_pool_busy_is_503_with_retry_after(
    jwks: JwksServer, start: Any, sims: TerminalServerProcess
) -> None:
    # no health pings meanwhile: a ping caught by hang_calls would take a terminal out of rotation
    gateway = start(request_timeout_s=0.5, pool_health_interval_s=60.0)
    users = [client_for(jwks, gateway, str(uuid.uuid4())) for _ in range(3)]
    for client, login in zip(users, (10001, 10002, 10003), strict=True):
        body = {"login": login, "password": f"demo-{login}", "server": "Sim-Demo"}
        assert client.post("/api/v1/accounts/connect", json=body).status_code == 201
    controls = [SimControl(sims.host, port) for port in sims.ports]
    try:
        for control in controls:
            control.hang_calls(seconds=2)
        with ThreadPoolExecutor(2) as pool:
            slow = [pool.submit(users[i].get, "/api/v1/balance") for i in (0, 1)]
            wait_until(lambda: metric(gateway, "gateway_pool_busy_terminals") == 2)
            refused = users[2].get("/api/v1/balance")
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "POOL_BUSY"
            assert int(refused.headers["retry-after"]) >= 1
            assert [f.result().status_code for f in slow] == [200, 200], [
                f.result().text for f in slow
            ]
    finally:
        for control in controls:
            control.hang_calls(seconds=0)
            control.close()
    assert metric(gateway, "gateway_pool_rejected_total") >= 1


def test_metrics_exposition(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    client = client_for(jwks, gateway, str(uuid.uuid4()))
    client.get("/api/v1/accounts")
    client.get(f"/api/v1/accounts/{uuid.uuid4()}/status")
    body = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}
    assert client.post("/api/v1/accounts/test-connection", json=body).status_code == 200
    httpx.get(f"{gateway.url}/api/v1/accounts", headers={"Authorization": "Bearer x.y.z"})
    text = httpx.get(f"{gateway.url}/metrics").text
    assert 'gateway_requests_total{method="GET",route="/api/v1/accounts",status="200"}' in text
    template = "/api/v1/accounts/{account_id}/status"
    assert f'gateway_requests_total{{method="GET",route="{template}",status="404"}}' in text
    assert 'gateway_jwt_failures_total{reason="malformed"}' in text
    assert 'gateway_pool_terminal_healthy{terminal="t1"}' in text
    assert 'gateway_mt5_call_seconds_count{function="login"} ' in text
    assert 'gateway_mt5_call_seconds_count{function="account_info"} ' in text
    assert "/metrics" not in httpx.get(f"{gateway.url}/openapi.json").json()["paths"]


def test_single_tenant_mode(jwks: JwksServer, start: Any) -> None:
    gateway = start(allowed_user_ids=ALICE)
    alice, bob = client_for(jwks, gateway, ALICE), client_for(jwks, gateway, BOB)
    assert alice.get("/api/v1/balance").json()["login"] == 10001
    current = alice.get("/api/v1/accounts/current").json()
    assert current["id"] == "default" and current["account_info"]["login"] == 10001
    assert alice.get("/api/v1/account/info", params={"account_id": "default"}).status_code == 200
    assert bob.get("/api/v1/balance").json()["code"] == "NO_ACCOUNT"
    assert bob.get("/api/v1/balance", params={"account_id": "default"}).status_code == 404


def metric(gateway: GatewayServer, name: str) -> float:
    text = httpx.get(f"{gateway.url}/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match[1]) if match else float("nan")


def wait_until(condition: Any, attempts: int = 200) -> None:
    for _ in range(attempts):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")
