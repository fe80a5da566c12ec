"""Fixtures of the client tests: the simulator, a JWKS stand-in and one live gateway (with the
stream) for the module, on a fresh store and a fresh simulated world at a frozen Tuesday noon."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLIENT_SRC = HERE.parents[1] / "clients" / "python" / "src"
for folder in (HERE, HERE.parent / "stream", HERE.parent / "gateway", HERE.parent / "terminal"):
    sys.path.insert(0, str(folder))
sys.path.append(str(CLIENT_SRC))  # an installed mt5gw-client (pip install -e clients/python) wins

from client_support import LiveGateway, live_gateway  # noqa: E402
from helpers import JwksServer, new_es256  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from stream_support import FROZEN_MS, TRADER  # noqa: E402


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(keys=[new_es256("es-1")])
    yield server
    server.close()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[TerminalServerProcess]:
    with start_terminal_server(terminals=1) as server:
        yield server


@pytest.fixture(scope="session")
def control(sim_server: TerminalServerProcess) -> Iterator[SimControl]:
    with SimControl(sim_server.host, sim_server.port) as ctl:
        yield ctl


@pytest.fixture(scope="module")
def gateway(
    jwks: JwksServer,
    sim_server: TerminalServerProcess,
    control: SimControl,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveGateway]:
    control.reset()
    control.freeze_time(ms=FROZEN_MS)
    folder = tmp_path_factory.mktemp("clients")
    with live_gateway(jwks, sim_server, folder, admin_user_ids=[TRADER]) as live:
        yield live
    control.timeout_after_execute(seconds=0)
