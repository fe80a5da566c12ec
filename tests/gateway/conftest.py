"""Fixtures: local JWKS, the real simulator terminal server, the gateway under uvicorn."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.main import create_app
from gateway.terminal.rpyc_client import RpycTerminal

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminal"))

from helpers import (
    FROZEN_MS,
    HS256_SECRET,
    GatewayServer,
    JwksServer,
    claims,
    login_default,
    new_es256,
    new_rs256,
    sign,
    store_settings,
)
from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-1"), new_rs256("rs-1")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[TerminalServerProcess]:
    with start_terminal_server() as server:
        yield server


@pytest.fixture(scope="session")
def control(sim_server: TerminalServerProcess) -> Iterator[SimControl]:
    with SimControl(sim_server.host, sim_server.port) as ctl:
        yield ctl


def gateway_settings(jwks: JwksServer, terminals: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        **store_settings(),
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "supabase_jwt_secret": HS256_SECRET,
        "terminals": terminals,
        "server_utc_offsets": "Sim-Demo=7200",
        "terminal_timeout_s": 3.0,
        "terminal_connect_timeout_s": 2.0,
        "jwks_min_refresh_s": 0.0,
        "pool_health_interval_s": 0.2,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def gateway(
    jwks: JwksServer, sim_server: TerminalServerProcess, control: SimControl
) -> Iterator[GatewayServer]:
    control.freeze_time(ms=FROZEN_MS)
    login_default(sim_server.host, sim_server.port)
    settings = gateway_settings(jwks, f"t1={sim_server.host}:{sim_server.port}")
    with GatewayServer(create_app(settings)) as server:
        yield server


@pytest.fixture(scope="session")
def token(jwks: JwksServer) -> str:
    return sign(jwks.keys[0], claims(jwks.issuer))


@pytest.fixture
def client(gateway: GatewayServer, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture
def raw_terminal(sim_server: TerminalServerProcess) -> Iterator[Callable[..., Any]]:
    """Call the terminal directly (to compare the gateway's answers with the source)."""
    loop = asyncio.new_event_loop()
    terminal = RpycTerminal("raw", sim_server.host, sim_server.port, timeout_s=30)

    def call(method: str, *args: Any, **kwargs: Any) -> Any:
        return loop.run_until_complete(getattr(terminal, method)(*args, **kwargs))

    yield call
    loop.run_until_complete(terminal.close())
    loop.close()
