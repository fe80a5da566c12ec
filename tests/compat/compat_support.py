"""Helpers of the tests/compat modules: the venv of a combination, a fresh simulated terminal."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[0] / "terminal"))

import venvs  # noqa: E402
from sim_control import SimControl  # noqa: E402

NOW_MS = int(datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday


def venv_for(combo: venvs.Combo) -> Path:
    try:
        return venvs.ensure_venv(combo)
    except LookupError as missing:
        if os.environ.get("MT5GW_REQUIRE_BINARIES") == "1":
            raise
        pytest.skip(str(missing))


def fresh_terminal(server: Any) -> None:
    """Reset the world and freeze a weekday noon. The server started logged into 10001
    (``--login``), so a client's bare initialize() finds that account."""
    with SimControl(server.host, server.port) as control:
        control.reset()
        control.freeze_time(ms=NOW_MS)
