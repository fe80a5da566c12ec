"""A live gateway for the client and console tests: the real app (with the stream and, when
asked, the console) under uvicorn, the simulator terminal server over RPyC, a seeded store.

The app gets ``install_stream`` and the console router only if ``create_app`` does not mount
them already (until the lead wires them into ``gateway/main.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from helpers import GatewayServer, JwksServer, claims, sign
from server_process import TerminalServerProcess
from stream_support import TEST_STREAM, TRADER, Accounts, gateway_settings, seed

from gateway.main import create_app
from gateway.store.crypto import Keyring, generate_key

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"


def paths_of(app: FastAPI) -> set[str]:
    return {getattr(route, "path", "") for route in app.routes}


def build_app(settings: Any, *, console: bool) -> FastAPI:
    app = create_app(settings)
    if "/api/v1/stream" not in paths_of(app):
        from gateway.stream.install import install_stream

        install_stream(app, **TEST_STREAM)
    if console and "/console" not in paths_of(app):
        from gateway.console.router import install_console

        install_console(app)
    return app


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


@contextmanager
def live_gateway(
    jwks: JwksServer,
    sim: TerminalServerProcess,
    folder: Path,
    *,
    console: bool = False,
    **extra: Any,
) -> Iterator[LiveGateway]:
    key = generate_key("k1")
    url = f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    with ThreadPoolExecutor(1) as pool:
        ids = pool.submit(asyncio.run, seed(url, Keyring.parse(key))).result()
    settings = gateway_settings(jwks, sim, url, key, **extra)
    with GatewayServer(build_app(settings, console=console)) as server:
        yield LiveGateway(server, jwks, ids)
