"""Fixtures: the real terminal server (simulator backend) in a subprocess, and clients of it."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_process import TerminalServerProcess, start_terminal_server
from sim_control import SimControl

# A Wednesday noon (UTC): every market of the demo profile is open.
FROZEN_MS = int(dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[TerminalServerProcess]:
    """Two simulated terminals (one World) plus the mt5linux classic port, for one module."""
    with start_terminal_server(terminals=2, classic_compat=True) as server:
        yield server


@pytest.fixture
def control(sim_server: TerminalServerProcess) -> Iterator[SimControl]:
    """Controls of terminal 1; the world is reset and its clock frozen at ``FROZEN_MS``."""
    with SimControl(sim_server.host, sim_server.port) as ctl:
        ctl.hang_calls(seconds=0)
        ctl.reset()
        ctl.freeze_time(ms=FROZEN_MS)
        yield ctl
        ctl.hang_calls(seconds=0)
