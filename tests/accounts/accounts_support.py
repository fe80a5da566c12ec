"""Shared pieces of the account tests (imported by name: ``conftest`` is ambiguous across
test folders)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from helpers import JwksServer
from server_process import TerminalServerProcess

from gateway.config import Settings
from gateway.store.crypto import generate_key

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


UserClient = Callable[[str], httpx.Client]
