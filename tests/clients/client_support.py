"""A live gateway for the client and console tests: the real app (with the stream and, when
asked, the console) under uvicorn, the simulator terminal server over RPyC, a seeded store.

"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from helpers import GatewayServer, JwksServer, claims, free_port, sign
from server_process import TerminalServerProcess
from stream_support import TRADER, Accounts, gateway_settings, seed

from gateway.main import create_app
from gateway.store.crypto import Keyring, generate_key

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"


@dataclass
class LiveGateway:
    server: GatewayServer
    jwks: JwksServer
    ids: Accounts

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user: str = TRADER, **extra: Any) -> str:
        return sign(self.jwks.keys[0], claims(self.jwks.issuer, sub=user, **extra))


class GatewayOnPort(GatewayServer):
    """GatewayServer on a port chosen before the app is built (its origin goes in settings)."""

    def __init__(self, app: FastAPI, port: int, host: str = "127.0.0.1") -> None:
        super().__init__(app)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server.config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on"
        )


@contextmanager
def live_gateway(
    jwks: JwksServer,
    sim: TerminalServerProcess,
    folder: Path,
    *,
    console: bool = False,
    host: str = "127.0.0.1",
    **extra: Any,
) -> Iterator[LiveGateway]:
    """``host``: the address uvicorn binds (``0.0.0.0`` to be reached from another address
    than loopback); ``url`` is always the loopback one."""
    key = generate_key("k1")
    url = f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    with ThreadPoolExecutor(1) as pool:
        ids = pool.submit(asyncio.run, seed(url, Keyring.parse(key))).result()
    port = free_port()
    if console:  # the stream checks Origin against CORS_ORIGINS, the console's own included
        extra.setdefault("cors_origins", [f"http://127.0.0.1:{port}"])
    settings = gateway_settings(jwks, sim, url, key, console=console, **extra)
    with GatewayOnPort(create_app(settings), port, host) as server:
        yield LiveGateway(server, jwks, ids)
