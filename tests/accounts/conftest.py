"""Account API fixtures: real uvicorn gateways on two real simulator terminals, a local JWKS,
and a store on SQLite or on the throwaway PostgreSQL server of ``tests/store/conftest.py``
(loaded here by path; its ``postgres_server`` fixture is reused as it is)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminal"))

from accounts_support import FROZEN_MS, LogCapture, UserClient, settings_for
from helpers import GatewayServer, JwksServer, claims, new_es256, sign
from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl

from gateway.main import create_app

TESTS = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("store_fixtures", TESTS / "store" / "conftest.py")
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server
Databases = store_fixtures.Databases


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-acc")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sims() -> Iterator[TerminalServerProcess]:
    """Two simulated terminals sharing one world."""
    with start_terminal_server(terminals=2) as server:
        with SimControl(server.host, server.ports[0]) as control:
            control.freeze_time(ms=FROZEN_MS)
        yield server


@pytest.fixture(scope="session")
def logs() -> Iterator[LogCapture]:
    handler = LogCapture()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.needs_binary("postgres"))],
)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Databases:
    pg = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    return Databases(request.param, tmp_path_factory.mktemp(request.param), pg)


@pytest.fixture(scope="module")
def db_url(backend: Databases) -> str:
    """An EMPTY database: the gateway migrates it at startup."""
    return backend.empty()


@pytest.fixture(scope="module")
def gateway(
    jwks: JwksServer, sims: TerminalServerProcess, db_url: str, logs: LogCapture
) -> Iterator[GatewayServer]:
    with GatewayServer(create_app(settings_for(jwks, sims, db_url))) as server:
        yield server


@pytest.fixture
def as_user(jwks: JwksServer, gateway: GatewayServer) -> Iterator[UserClient]:
    """``as_user(sub)``: an HTTP client carrying that user's token."""
    clients: list[httpx.Client] = []

    def make(sub: str, **claim_overrides: Any) -> httpx.Client:
        token = sign(jwks.keys[0], claims(jwks.issuer, sub=sub, **claim_overrides))
        client = httpx.Client(
            base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
