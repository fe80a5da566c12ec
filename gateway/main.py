"""The FastAPI application: ``create_app()`` plus a lifespan that owns every resource.

Nothing connects at import time. Start it with ``uvicorn --factory gateway.main:create_app``.
The lifespan migrates the database (``DATABASE_URL``, SQLite by default), loads the MT5
password keyring (``MT5_ENCRYPTION_KEYS``; a dev key in development, required in production)
and builds the terminal pool. With ``TERMINALS=sim`` (the default) it starts a simulator
terminal server with ``SIM_TERMINALS`` terminals as a child process; otherwise it talks to the
configured terminal servers, which connect lazily and reconnect on their own. When a
single-tenant account is configured and usable, one terminal logs into it at startup.

Around every request, outermost first: the request log (``gateway.logs``: request id, one JSON
access line), CORS, the last-resort error handler (``gateway.errors.UnhandledErrors``), metrics.
Settings that fail validation stop the process with one log line that quotes no input.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import NotRequired, TypedDict

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.gzip import GZipMiddleware

from gateway.accounts.cache import AccountCache, install_forgetting
from gateway.accounts.context import ResolvedAccount
from gateway.accounts.router import router as accounts_router
from gateway.accounts.router import servers_router
from gateway.audit.router import router as audit_router
from gateway.auth.admin import router as admin_router
from gateway.auth.devkeys import load_settings, with_dev_secrets
from gateway.auth.install import install_identity
from gateway.auth.router import router as auth_router
from gateway.auth.schemas import User
from gateway.auth.throttle import LoginThrottle, policy_of
from gateway.auth.verifier import TokenVerifier, make_verifier
from gateway.broadcast import service as broadcasts
from gateway.broadcast.fanout import Env as BroadcastEnv
from gateway.broadcast.router import router as broadcast_router
from gateway.broadcast.router import tags_router
from gateway.calculate.router import router as calculate_router
from gateway.config import Settings, TerminalEndpoint
from gateway.console.router import install_console, install_docs
from gateway.db import make_engine, make_sessionmaker, upgrade_database
from gateway.deps import get_current_user
from gateway.errors import ERROR_RESPONSES, UnhandledErrors, install_error_handlers
from gateway.health.router import admin_router as admin_pool_router
from gateway.health.router import router as health_router
from gateway.history.router import router as history_router
from gateway.journal.auto import AutoSync
from gateway.journal.router import router as journal_router
from gateway.logs import RequestLogMiddleware, configure_from_settings, configure_logging
from gateway.market.router import router as market_router
from gateway.metrics import MeteredTerminal, Metrics, install_metrics
from gateway.portfolio.router import router as portfolio_router
from gateway.replicas.bus import ReplicaBus
from gateway.replicas.forwarding import Forwarder
from gateway.replicas.service import Replicas, install_replicas, replica_service
from gateway.store.crypto import Keyring, KeyringError
from gateway.stream.install import install_stream
from gateway.terminal.embedded import EmbeddedSimulator
from gateway.terminal.errors import TerminalError
from gateway.terminal.pool import AccountKey, PoolError, TerminalPool
from gateway.terminal.port import TerminalPort
from gateway.terminal.rpyc_client import RpycTerminal, TlsConfig
from gateway.terminal.servertime import ServerClocks
from gateway.trading.deps import reopener
from gateway.trading.desk import Reconciliations, Reopen
from gateway.trading.resume import resume_unresolved
from gateway.trading.router import router as trading_router

log = logging.getLogger("gateway")

API_PREFIX = "/api/v1"
SIM_TERMINAL_NAME = "sim"
SIM_SERVERS = ("Sim-Demo", "Sim-Live")
# What browsers may send (Idempotency-Key for trades, X-Request-ID to tie a report to our log
# line, X-API-Key for bots) and read back (Retry-After of 429/503, our request id).
CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Request-ID",
    "X-API-Key",
]
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]


class State(TypedDict):
    settings: Settings
    http: httpx.AsyncClient
    verifier: TokenVerifier
    pool: TerminalPool
    terminals: Sequence[TerminalPort]
    keyring: Keyring
    sessionmaker: async_sessionmaker[AsyncSession]
    account_cache: AccountCache[ResolvedAccount]
    reconciliations: Reconciliations
    clocks: ServerClocks
    known_servers: tuple[str, ...]
    throttle: LoginThrottle
    replica_forwarder: NotRequired[Forwarder | None]  # several replicas (gateway/replicas)
    event_bus: NotRequired[ReplicaBus]
    replicas: NotRequired[Replicas]


def load_keyring(settings: Settings) -> Keyring:
    """The MT5 password keyring; production refuses to start without one."""
    if settings.mt5_encryption_keys is None:
        raise RuntimeError(
            "MT5_ENCRYPTION_KEYS is required; generate one with: python -c "
            "'from gateway.store.crypto import generate_key as g; print(g(\"k1\"))'"
        )
    try:
        return Keyring.parse(settings.mt5_encryption_keys.get_secret_value())
    except KeyringError as exc:
        raise RuntimeError(f"MT5_ENCRYPTION_KEYS: {exc}") from None


async def open_terminals(settings: Settings, stack: AsyncExitStack) -> list[RpycTerminal]:
    """Connect the configured terminals (starting the embedded simulator first)."""
    endpoints = settings.terminal_endpoints()
    if settings.uses_embedded_sim:
        sim = EmbeddedSimulator(terminals=settings.sim_terminals)
        await sim.start(settings.sim_start_timeout_s)
        stack.push_async_callback(sim.stop)
        endpoints = [
            TerminalEndpoint(f"{SIM_TERMINAL_NAME}-{i + 1}", sim.host, port)
            for i, port in enumerate(sim.ports)
        ]
    return [
        RpycTerminal(
            endpoint.name,
            endpoint.host,
            endpoint.port,
            timeout_s=settings.terminal_timeout_s,
            connect_timeout_s=settings.terminal_connect_timeout_s,
            secret=settings.secret_for(endpoint.name),
            tls=terminal_tls(settings),
        )
        for endpoint in endpoints
    ]


def terminal_tls(settings: Settings) -> TlsConfig | None:
    """Mutual TLS to the terminal servers, when a CA is configured."""
    if settings.terminal_tls_ca_file is None:
        return None
    cert, key = settings.terminal_tls_cert_file, settings.terminal_tls_key_file
    return TlsConfig(
        ca_file=str(settings.terminal_tls_ca_file),
        cert_file=str(cert) if cert else None,
        key_file=str(key) if key else None,
    )


def make_pool(settings: Settings, terminals: Sequence[TerminalPort]) -> TerminalPool:
    """The pool; with replicas it holds no terminal until it leases one (gateway/replicas)."""
    return TerminalPool(
        terminals,
        queue_limit=settings.pool_queue_limit,
        user_limit=settings.pool_user_limit,
        fairness_batch=settings.pool_fairness_batch,
        health_interval_s=settings.pool_health_interval_s,
        ping_timeout_s=settings.terminal_connect_timeout_s,
        switch_timeout_ms=int(settings.pool_login_timeout_s * 1000),
        held=not settings.replica_leases,
    )


async def warm_default_account(settings: Settings, pool: TerminalPool) -> None:
    """Log one terminal into the configured account (embedded simulator or single-tenant)."""
    if not settings.has_default_account:
        return
    if not (settings.uses_embedded_sim or settings.allowed_user_ids):
        return
    key = AccountKey(settings.default_account_login, settings.default_account_server)
    deadline = pool.deadline(settings.pool_login_timeout_s)
    try:
        async with pool.session(key, settings.default_account_password.get_secret_value, deadline):
            log.info("terminal logged into the configured account %s", key)
    except (TerminalError, PoolError) as exc:
        log.warning("could not log into the configured account %s: %s", key, type(exc).__name__)


def known_servers(settings: Settings) -> tuple[str, ...]:
    """Broker servers named by configuration (the terminals' own are added at request time)."""
    names = list(settings.known_servers) + list(settings.utc_offsets())
    if settings.has_default_account:
        names.append(settings.default_account_server)
    if settings.uses_embedded_sim:
        names += SIM_SERVERS
    return tuple(dict.fromkeys(names))


def settings_or_exit() -> Settings:
    """Settings from the environment; invalid ones end the process after one log line that
    names the fields and rules broken, never the values given (they may be secrets)."""
    try:
        return load_settings()
    except ValidationError as exc:
        level = os.environ.get("LOG_LEVEL", "INFO").upper()
        text = os.environ.get("LOG_FORMAT", "").lower() == "text"
        configure_logging(
            level if level in logging.getLevelNamesMapping() else "INFO", "text" if text else "json"
        )
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        log.critical("refusing to start, invalid settings: %s", problems)
        raise SystemExit(2) from None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = with_dev_secrets(settings) if settings is not None else settings_or_exit()
    configure_from_settings(settings)

    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        configure_from_settings(settings)  # again: uvicorn run in-process set up its own since
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.jwks_timeout_s)
            )
            keyring = load_keyring(settings)
            await upgrade_database(settings.database_url)
            engine = make_engine(settings.database_url)
            stack.push_async_callback(engine.dispose)
            terminals = [MeteredTerminal(t, metrics) for t in await open_terminals(settings, stack)]
            pool = make_pool(settings, terminals)
            metrics.watch_pool(pool)
            await pool.start()
            stack.push_async_callback(pool.close)
            account_cache: AccountCache[ResolvedAccount] = AccountCache()
            sessions = install_forgetting(make_sessionmaker(engine), account_cache)
            replicas = await stack.enter_async_context(replica_service(settings, pool, sessions))
            await warm_default_account(settings, pool)
            reconciliations = Reconciliations()
            stack.push_async_callback(reconciliations.stop)

            def reopen_for(user: User, account_id: str) -> Reopen:
                return reopener(pool, keyring, settings, sessions, user, account_id)

            if replicas is None:
                await resume_unresolved(sessions, reopen_for, reconciliations)
            else:  # only what stopped replicas left: the live ones settle their own
                await replicas.resume_orphans(reopen_for, reconciliations)
            clocks = ServerClocks(settings.utc_offsets())
            await broadcasts.resume(
                BroadcastEnv(pool, keyring, settings, sessions, reconciliations, clocks)
            )
            await stack.enter_async_context(  # opted-in accounts, synced in the background
                AutoSync(
                    pool=pool, sessions=sessions, clocks=clocks, keyring=keyring, settings=settings
                )
            )
            state = State(
                settings=settings,
                http=http,
                verifier=make_verifier(settings, http),
                pool=pool,
                terminals=terminals,
                keyring=keyring,
                sessionmaker=sessions,
                account_cache=account_cache,
                reconciliations=reconciliations,
                clocks=clocks,
                known_servers=known_servers(settings),
                throttle=LoginThrottle(sessions, policy_of(settings)),
            )
            if replicas is not None:  # read by the forwarding middleware and the stream
                state["replica_forwarder"] = replicas.forwarder
                state["event_bus"] = replicas.bus
                state["replicas"] = replicas
            yield state

    app = FastAPI(
        title="MT5 Gateway",
        version="0.1.0",
        description="MetaTrader 5 over HTTP, for Supabase-authenticated users.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI is served from local files by install_docs (no CDN)
        redoc_url=None,
    )
    # add_middleware wraps what is there: the last added runs first.
    install_error_handlers(app)
    install_metrics(app, metrics)
    app.add_middleware(UnhandledErrors)
    if settings.gzip_level:  # bodies of 1 KB and more, when the client accepts gzip
        app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=settings.gzip_level)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
        )
    app.add_middleware(RequestLogMiddleware)
    app.include_router(health_router)
    routers = (
        auth_router,
        admin_router,
        admin_pool_router,
        accounts_router,
        servers_router,
        portfolio_router,
        market_router,
        trading_router,
        history_router,
        audit_router,
        calculate_router,
        journal_router,
        broadcast_router,
        tags_router,
    )
    for router in routers:
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=[Depends(get_current_user)],
            responses=ERROR_RESPONSES,
        )
    install_identity(app)  # API keys, MT5-credential sessions (gateway/auth/install.py)
    install_docs(app)
    if settings.console:
        install_console(app, settings)
    install_replicas(app)  # forwarding between replicas; does nothing with REPLICA_LEASES off
    install_stream(app)  # the stream authenticates itself: no bearer dependency
    return app
