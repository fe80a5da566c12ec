"""Simulator terminal servers for the pool tests: real processes, real RPyC, free ports.

Built on the protocol tests' helpers (``tests/terminal/server_process.py`` and
``sim_control.py``), which the test modules import by name once this file ran.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "terminal"))

from server_process import TerminalServerProcess, start_terminal_server

StartServer = Callable[..., TerminalServerProcess]


@pytest.fixture(scope="module")
def demo_server() -> Iterator[TerminalServerProcess]:
    """Three demo terminals sharing one simulated world, for the whole module."""
    with start_terminal_server(terminals=3) as server:
        yield server


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start more servers in a test (``port=`` restarts one on its old port); all stopped after."""
    servers: list[TerminalServerProcess] = []

    def start(**kwargs: object) -> TerminalServerProcess:
        server = start_terminal_server(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
