"""tests/compat: the mt5linux client matrix in cached venvs (see venvs.py), against the real
terminal server's classic-compat port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[0] / "terminal"))

from server_process import TerminalServerProcess, start_terminal_server  # noqa: E402


@pytest.fixture(scope="module")
def compat_server() -> Iterator[TerminalServerProcess]:
    """One terminal, started logged into 10001, with the mt5linux classic port."""
    login = ["--login", "10001", "--password", "demo-10001", "--server", "Sim-Demo"]
    with start_terminal_server(terminals=1, classic_compat=True, extra_args=login) as server:
        yield server
