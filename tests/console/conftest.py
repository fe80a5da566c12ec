"""Fixtures of the console tests: the simulator, a JWKS stand-in, and a live gateway with the
stream, the console (CONSOLE=true) and the offline /docs, on a fresh store and world."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for folder in (HERE, TESTS / "clients", TESTS / "stream", TESTS / "gateway", TESTS / "terminal"):
    sys.path.insert(0, str(folder))

from client_support import LiveGateway, live_gateway  # noqa: E402
from helpers import JwksServer, new_es256  # noqa: E402
from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from stream_support import FROZEN_MS, TRADER  # noqa: E402


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
    folder = tmp_path_factory.mktemp("console")
    with live_gateway(jwks, sim_server, folder, console=True, admin_user_ids=[TRADER]) as live:
        yield live
