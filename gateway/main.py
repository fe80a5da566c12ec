"""The FastAPI application: ``create_app()`` plus a lifespan that owns every resource.

Nothing connects at import time. Start it with ``uvicorn --factory gateway.main:create_app``.
With ``TERMINALS=sim`` (the default) the lifespan starts a simulator terminal server as a child
process and logs it into ``DEFAULT_ACCOUNT_*``; otherwise it talks to the configured terminal
servers, which connect lazily and reconnect on their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.account.router import router as account_router
from gateway.auth.devkeys import with_dev_secrets
from gateway.auth.router import router as auth_router
from gateway.auth.verifier import TokenVerifier, make_verifier
from gateway.config import Settings, TerminalEndpoint, get_settings
from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES, install_error_handlers
from gateway.health.router import router as health_router
from gateway.market.router import router as market_router
from gateway.terminal.embedded import EmbeddedSimulator
from gateway.terminal.registry import TerminalRegistry
from gateway.terminal.rpyc_client import RpycTerminal
from gateway.terminal.servertime import ServerClocks
from gateway.trading.router import router as trading_router

log = logging.getLogger("gateway")

API_PREFIX = "/api/v1"
SIM_TERMINAL_NAME = "sim"


class State(TypedDict):
    settings: Settings
    http: httpx.AsyncClient
    verifier: TokenVerifier
    terminals: TerminalRegistry
    clocks: ServerClocks


async def open_terminals(settings: Settings, stack: AsyncExitStack) -> TerminalRegistry:
    """Connect the configured terminals (starting and logging in the embedded simulator)."""
    endpoints = settings.terminal_endpoints()
    if settings.uses_embedded_sim:
        sim = EmbeddedSimulator()
        await sim.start(settings.sim_start_timeout_s)
        stack.push_async_callback(sim.stop)
        endpoints = [TerminalEndpoint(SIM_TERMINAL_NAME, sim.host, sim.port)]
    secret = settings.terminal_secret.get_secret_value() if settings.terminal_secret else None
    terminals = []
    for endpoint in endpoints:
        terminal = RpycTerminal(
            endpoint.name,
            endpoint.host,
            endpoint.port,
            timeout_s=settings.terminal_timeout_s,
            connect_timeout_s=settings.terminal_connect_timeout_s,
            secret=secret,
        )
        stack.push_async_callback(terminal.close)
        terminals.append(terminal)
    if settings.uses_embedded_sim:
        await terminals[0].call("initialize")
        await terminals[0].login(
            settings.default_account_login,
            settings.default_account_password.get_secret_value(),
            settings.default_account_server,
            60_000,
        )
        log.info(
            "simulator logged into %d on %s",
            settings.default_account_login,
            settings.default_account_server,
        )
    return TerminalRegistry(terminals)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = with_dev_secrets(settings) if settings is not None else get_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("gateway").setLevel(settings.log_level)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.jwks_timeout_s)
            )
            terminals = await open_terminals(settings, stack)
            yield State(
                settings=settings,
                http=http,
                verifier=make_verifier(settings, http),
                terminals=terminals,
                clocks=ServerClocks(settings.utc_offsets()),
            )

    app = FastAPI(
        title="MT5 Gateway",
        version="0.1.0",
        description="MetaTrader 5 over HTTP, for Supabase-authenticated users.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    install_error_handlers(app)
    app.include_router(health_router)
    for router in (auth_router, account_router, market_router, trading_router):
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=[Depends(get_current_user)],
            responses=ERROR_RESPONSES,
        )
    return app
