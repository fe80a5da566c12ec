"""Account API fixtures: real uvicorn gateways on two real simulator terminals, a local JWKS,
and a store on SQLite or on the throwaway PostgreSQL server of ``tests/store/conftest.py``
(loaded here by path; its ``postgres_server`` fixture is reused as it is)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminal"))

from helpers import GatewayServer, JwksServer, claims, new_es256, sign
from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl

from gateway.config import Settings
from gateway.main import create_app
from gateway.store.crypto import generate_key

TESTS = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("store_fixtures", TESTS / "store" / "conftest.py")
assert _spec is not None and _spec.loader is not None
store_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(store_fixtures)
postgres_server = store_fixtures.postgres_server
Databases = store_fixtures.Databases

FROZEN_MS = 1_764_072_000_000  # Tuesday 2025-11-25 12:00 UTC: forex markets open
KEYRING = generate_key("acc1")
ALICE = "aaaaaaaa-0000-4000-8000-000000000001"
BOB = "bbbbbbbb-0000-4000-8000-000000000002"


class LogCapture(logging.Handler):
    """Every log record of the process (the gateway runs in a thread of this one)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


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


def settings_for(
    jwks: JwksServer, sims: TerminalServerProcess, db_url: str, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "terminals": ",".join(f"t{i + 1}={sims.host}:{p}" for i, p in enumerate(sims.ports)),
        "server_utc_offsets": "Sim-Demo=7200,Sim-Live=10800",
        "known_servers": "Sim-Demo,Sim-Live",
        "database_url": db_url,
        "mt5_encryption_keys": KEYRING,
        "terminal_timeout_s": 5.0,
        "terminal_connect_timeout_s": 2.0,
        "pool_health_interval_s": 0.2,
        "log_level": "DEBUG",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


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


UserClient = Callable[[str], httpx.Client]


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
