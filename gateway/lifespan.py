"""What the running app holds: the lifespan's resources, opened in order and closed in reverse.

``lifespan_of(settings, metrics)`` is the lifespan ``create_app`` gives FastAPI. It opens, in
this order: the HTTP client (for the JWKS), the MT5 password keyring (``MT5_ENCRYPTION_KEYS``;
a dev key in development, required in production), the database (migrated first;
``DATABASE_URL``, SQLite by default), the terminals and their pool, the replica service (with
``REPLICA_LEASES``), the configured account's login, then takes up what an earlier run left
unfinished (trade requests, broadcasts) and starts the journal's background sync. What it
yields is the request state, ``State``, read by ``gateway/deps.py``.

With ``TERMINALS=sim`` (the default) the terminals are a simulator terminal server with
``SIM_TERMINALS`` terminals, started here as a child process; otherwise the configured
terminal servers, which connect lazily and reconnect on their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import NotRequired, TypedDict

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.cache import AccountCache, install_forgetting
from gateway.accounts.context import ResolvedAccount
from gateway.auth.schemas import User
from gateway.auth.throttle import LoginThrottle, policy_of
from gateway.auth.verifier import TokenVerifier, make_verifier
from gateway.broadcast import service as broadcasts
from gateway.broadcast.fanout import Env as BroadcastEnv
from gateway.config import Settings, TerminalEndpoint
from gateway.db import make_engine, make_sessionmaker, upgrade_database
from gateway.journal.auto import AutoSync
from gateway.logs import configure_from_settings
from gateway.metrics import MeteredTerminal, Metrics
from gateway.replicas.bus import ReplicaBus
from gateway.replicas.forwarding import Forwarder
from gateway.replicas.service import Replicas, replica_service
from gateway.store.crypto import Keyring, KeyringError
from gateway.terminal.embedded import EmbeddedSimulator
from gateway.terminal.errors import TerminalError
from gateway.terminal.pool import AccountKey, PoolError, TerminalPool
from gateway.terminal.port import TerminalPort
from gateway.terminal.rpyc_client import RpycTerminal, TlsConfig
from gateway.terminal.servertime import ServerClocks
from gateway.trading.deps import reopener
from gateway.trading.desk import Reconciliations, Reopen
from gateway.trading.resume import resume_unresolved

log = logging.getLogger("gateway")

SIM_TERMINAL_NAME = "sim"
SIM_SERVERS = ("Sim-Demo", "Sim-Live")


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


def lifespan_of(
    settings: Settings, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[State]]:
    """The app's lifespan: every resource of ``open_state``, closed in reverse at shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        configure_from_settings(settings)  # again: uvicorn run in-process set up its own since
        async with AsyncExitStack() as stack:
            yield await open_state(settings, metrics, stack)

    return lifespan


async def open_state(settings: Settings, metrics: Metrics, stack: AsyncExitStack) -> State:
    """Open everything the requests use, in dependency order; ``stack`` closes it all."""
    http = await stack.enter_async_context(httpx.AsyncClient(timeout=settings.jwks_timeout_s))
    keyring = load_keyring(settings)
    await upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    terminals, pool = await open_pool(settings, metrics, stack)
    account_cache: AccountCache[ResolvedAccount] = AccountCache()
    sessions = install_forgetting(make_sessionmaker(engine), account_cache)
    replicas = await stack.enter_async_context(replica_service(settings, pool, sessions))
    await warm_default_account(settings, pool)
    reconciliations = Reconciliations()
    stack.push_async_callback(reconciliations.stop)
    clocks = ServerClocks(settings.utc_offsets())
    await resume_unfinished(settings, pool, keyring, sessions, replicas, reconciliations, clocks)
    await stack.enter_async_context(  # opted-in accounts, synced in the background
        AutoSync(pool=pool, sessions=sessions, clocks=clocks, keyring=keyring, settings=settings)
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
    return state


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


async def open_pool(
    settings: Settings, metrics: Metrics, stack: AsyncExitStack
) -> tuple[list[MeteredTerminal], TerminalPool]:
    """The terminals (each call timed into ``metrics``) and their started pool."""
    terminals = [MeteredTerminal(t, metrics) for t in await open_terminals(settings, stack)]
    pool = make_pool(settings, terminals)
    metrics.watch_pool(pool)
    await pool.start()
    stack.push_async_callback(pool.close)
    return terminals, pool


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


async def resume_unfinished(
    settings: Settings,
    pool: TerminalPool,
    keyring: Keyring,
    sessions: async_sessionmaker[AsyncSession],
    replicas: Replicas | None,
    reconciliations: Reconciliations,
    clocks: ServerClocks,
) -> None:
    """Take up what stopped runs left: unsettled trade requests (with replicas, only those of
    stopped replicas: the live ones settle their own), then unfinished broadcasts."""

    def reopen_for(user: User, account_id: str) -> Reopen:
        return reopener(pool, keyring, settings, sessions, user, account_id)

    if replicas is None:
        await resume_unresolved(sessions, reopen_for, reconciliations)
    else:
        await replicas.resume_orphans(reopen_for, reconciliations)
    await broadcasts.resume(
        BroadcastEnv(pool, keyring, settings, sessions, reconciliations, clocks)
    )


def known_servers(settings: Settings) -> tuple[str, ...]:
    """Broker servers named by configuration (the terminals' own are added at request time)."""
    names = list(settings.known_servers) + list(settings.utc_offsets())
    if settings.has_default_account:
        names.append(settings.default_account_server)
    if settings.uses_embedded_sim:
        names += SIM_SERVERS
    return tuple(dict.fromkeys(names))
