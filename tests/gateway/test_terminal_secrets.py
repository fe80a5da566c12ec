"""Each terminal its own RPyC secret (``TERMINAL_SECRETS``): a gateway reaches two terminal
servers that accept only their own secret, and one shared ``TERMINAL_SECRET`` reaches neither."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import GatewayServer, JwksServer, store_settings
from server_process import TerminalServerProcess, start_terminal_server

from gateway.config import Settings
from gateway.main import create_app

SECRETS = {"mt5-1": "a1" * 24, "mt5-2": "b2" * 24}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TerminalServerProcess]]:
    folder = tmp_path_factory.mktemp("secrets")
    started: dict[str, TerminalServerProcess] = {}
    try:
        for name, secret in SECRETS.items():
            path: Path = folder / name
            path.write_text(secret)
            started[name] = start_terminal_server(extra_args=["--auth-secret-file", str(path)])
        yield started
    finally:
        for server in started.values():
            server.stop()


def settings_for(
    jwks: JwksServer, servers: dict[str, TerminalServerProcess], **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        **store_settings(),
        "environment": "production",
        "supabase_url": jwks.supabase_url,
        "terminals": ",".join(f"{n}={s.host}:{s.port}" for n, s in servers.items()),
        "terminal_connect_timeout_s": 2.0,
        "pool_health_interval_s": 0.2,
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def reachable(gateway: GatewayServer) -> int:
    """Terminal servers that answered the gateway's own probe (after the secret handshake)."""
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        body = http.get("/health").json()
    return sum(1 for t in body["terminals"] if t["reachable"])


def test_each_terminal_gets_its_own_secret(
    jwks: JwksServer, servers: dict[str, TerminalServerProcess]
) -> None:
    own = ",".join(f"{n}={s}" for n, s in SECRETS.items())
    with GatewayServer(create_app(settings_for(jwks, servers, terminal_secrets=own))) as gw:
        assert reachable(gw) == 2


def test_one_shared_secret_reaches_neither(
    jwks: JwksServer, servers: dict[str, TerminalServerProcess]
) -> None:
    with GatewayServer(create_app(settings_for(jwks, servers, terminal_secret="c3" * 24))) as gw:
        assert reachable(gw) == 0


def test_secrets_must_name_configured_terminals(
    jwks: JwksServer, servers: dict[str, TerminalServerProcess]
) -> None:
    with pytest.raises(ValueError, match="TERMINAL_SECRETS"):
        settings_for(jwks, servers, terminal_secrets="mt5-9=" + "d4" * 24)
    with pytest.raises(ValueError, match="TERMINAL_SECRETS"):
        settings_for(jwks, servers, terminal_secrets="mt5-1=REPLACE_ME_PLEASE_0000000000")
