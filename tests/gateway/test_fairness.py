"""One user's flood never starves another (issue 8, item 4), against the real gateway and two
real simulator terminals.

Every MT5 call is made slow (the simulator's ``hang_calls``), and both users act for the
configured account, so one terminal serves all of it one request at a time: the order in which
answers come back is the order the pool served them, and the test asserts on that order and on
counts, never on how long anything took.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import FROZEN_MS, HS256_SECRET, GatewayServer, JwksServer, claims, sign, store_settings
from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl

from gateway.config import Settings
from gateway.main import create_app

FLOOD = "f1000000-0000-4000-8000-000000000001"
OTHER = "f2000000-0000-4000-8000-000000000002"
HANG_S = 0.5  # every MT5 call of the test sleeps this long in the simulator
FLOOD_SIZE = 60
SHARE = 8  # the pool's default per-user limit
ACCOUNT = "/api/v1/account/info"
TICK = "/api/v1/symbols/EURUSD/tick"


@pytest.fixture(scope="module")
def sims() -> Iterator[TerminalServerProcess]:
    with start_terminal_server(terminals=2) as server:
        with SimControl(server.host, server.port) as control:
            control.freeze_time(ms=FROZEN_MS)
        yield server


@pytest.fixture(scope="module")
def fair_gateway(jwks: JwksServer, sims: TerminalServerProcess) -> Iterator[GatewayServer]:
    values: dict[str, Any] = {
        **store_settings(allowed_user_ids=[FLOOD, OTHER]),
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "supabase_jwt_secret": HS256_SECRET,
        "terminals": ",".join(f"t{i + 1}={sims.host}:{p}" for i, p in enumerate(sims.ports)),
        "server_utc_offsets": "Sim-Demo=7200",
        "terminal_timeout_s": 30.0,
        "terminal_connect_timeout_s": 2.0,
        "pool_health_interval_s": 3600.0,  # no pings: the test decides what the terminals do
        "request_timeout_s": 120.0,  # a safety bound only: nobody should wait that long
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    with GatewayServer(create_app(settings)) as server:
        yield server


def queue_depth(text: str) -> float:
    match = re.search(r"^gateway_pool_queue_depth (\S+)$", text, re.M)
    return float(match[1]) if match else 0.0


async def flood_and_read(url: str, tokens: dict[str, str]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=FLOOD_SIZE + 10)
    clients = {
        who: httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=150, limits=limits
        )
        for who, token in tokens.items()
    }
    try:
        paths = [ACCOUNT if i % 2 else TICK for i in range(FLOOD_SIZE)]
        flood = [asyncio.ensure_future(clients[FLOOD].get(path)) for path in paths]
        while queue_depth((await clients[OTHER].get("/metrics")).text) < SHARE - 3:
            await asyncio.sleep(0.01)  # the flood has filled its share of the queue
        outstanding_before = sum(not f.done() for f in flood)
        other = await asyncio.gather(*(clients[OTHER].get(ACCOUNT) for _ in range(3)))
        outstanding_after = sum(not f.done() for f in flood)
        flooded = await asyncio.gather(*flood)
    finally:
        for client in clients.values():
            await client.aclose()
    return {
        "other": other,
        "flood": list(zip(paths, flooded, strict=True)),
        "outstanding_before": outstanding_before,
        "outstanding_after": outstanding_after,
    }


def test_a_flooding_user_gets_429_while_another_is_served_in_turn(
    jwks: JwksServer, sims: TerminalServerProcess, fair_gateway: GatewayServer
) -> None:
    tokens = {who: sign(jwks.keys[0], claims(jwks.issuer, sub=who)) for who in (FLOOD, OTHER)}
    controls = [SimControl(sims.host, port) for port in sims.ports]
    try:
        for control in controls:
            control.hang_calls(seconds=HANG_S)
        result = asyncio.run(asyncio.wait_for(flood_and_read(fair_gateway.url, tokens), 300))
    finally:
        for control in controls:
            control.hang_calls(seconds=0)
            control.close()

    # The other user: every request answered, while the flood still had work waiting (served
    # in turn with it, not after it).
    assert [r.status_code for r in result["other"]] == [200, 200, 200], result["other"][0].text
    assert result["outstanding_before"] >= SHARE - 3
    assert result["outstanding_after"] >= 2, result["outstanding_after"]

    # The flooding user: over their share, refused at once with 429 USER_BUSY + Retry-After,
    # on account-scoped and market-data routes alike.
    statuses = {(path, r.status_code) for path, r in result["flood"]}
    assert statuses <= {(ACCOUNT, 200), (TICK, 200), (ACCOUNT, 429), (TICK, 429)}, statuses
    refused = [(path, r) for path, r in result["flood"] if r.status_code == 429]
    assert {path for path, _ in refused} == {ACCOUNT, TICK}
    for _, response in refused:
        assert response.json()["code"] == "USER_BUSY"
        assert int(response.headers["Retry-After"]) >= 1
    assert sum(r.status_code == 200 for _, r in result["flood"]) >= SHARE
