"""Wiring of several replicas into a gateway's lifespan.

``replica_service(settings, pool, sessions)`` is an async context manager for the lifespan,
entered right after the pool is built (with ``held=False``) and before anything uses a terminal.
With ``REPLICA_LEASES`` off it yields None and the gateway runs alone as before. Otherwise it:

1. marks every connection of the app's engine with this replica's id (``orphans.py``);
2. opens a small engine of its own (leases, ``NOTIFY``, and one connection kept for ``LISTEN``),
   so renewals never wait behind the app's busy connection pool;
3. installs the placement into the pool and takes a first share of the leases (``keeper.py``);
4. builds the :class:`~gateway.replicas.bus.ReplicaBus` for the stream and webhooks, and the
   :class:`~gateway.replicas.forwarding.Forwarder` (when ``REPLICA_SECRET`` is set).

At exit it drains and frees its leases (another replica takes the terminals at once) and closes
what it opened. :meth:`Replicas.resume_orphans` replaces the startup resume of a single gateway.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.db import normalize_url
from gateway.logs import RequestLogMiddleware
from gateway.replicas.bus import ReplicaBus
from gateway.replicas.forwarding import Forwarder, ForwardingMiddleware
from gateway.replicas.interest import Interest, Watching
from gateway.replicas.keeper import LeaseKeeper
from gateway.replicas.leases import LEASES_CHANNEL, Board
from gateway.replicas.listener import Listener
from gateway.replicas.metrics import ReplicaCollector
from gateway.replicas.orphans import OrphanWatch, stamp_connections
from gateway.replicas.placement import ReplicaPlacement
from gateway.replicas.settings import ReplicaSettings
from gateway.terminal.pool import AccountKey, ServedElsewhere, TerminalPool
from gateway.trading.ledger import Reconciliations
from gateway.trading.resume import ReopenFor

log = logging.getLogger("gateway.replicas")


class ReplicaConfigError(RuntimeError):
    """Settings that several replicas cannot run with (refused at start)."""


@dataclass
class Replicas:
    settings: ReplicaSettings
    engine: AsyncEngine
    keeper: LeaseKeeper
    placement: ReplicaPlacement
    listener: Listener
    bus: ReplicaBus
    forwarder: Forwarder | None
    sessions: async_sessionmaker[AsyncSession]
    interest: Interest
    orphans: OrphanWatch | None = None

    @property
    def replica_id(self) -> str:
        return self.settings.replica_id

    async def resume_orphans(self, reopen_for: ReopenFor, background: Reconciliations) -> int:
        """Take up what stopped replicas left unsettled, now and whenever one leaves."""
        self.orphans = OrphanWatch(self.sessions, self.replica_id, reopen_for, background)
        return await self.orphans.run_now()

    async def follow(self, hub: Watching) -> None:
        """Once the stream hub exists: announce what it watches, and watch for the others."""
        await self.interest.start(hub)

    def _board(self, board: Board) -> None:
        self.placement.update(board)
        if self.orphans is not None:
            self.orphans.seen(board)


def check(settings: ReplicaSettings, database_url: str) -> None:
    url = normalize_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ReplicaConfigError("REPLICA_LEASES needs PostgreSQL (DATABASE_URL)")
    if url.query.get("pgbouncer") == "true":
        raise ReplicaConfigError(
            "REPLICA_LEASES needs a session connection (LISTEN, connection settings): use the "
            "direct or session-pooler address, not a transaction pooler (pgbouncer=true)"
        )
    if settings.replica_lease_ttl_s < 1:
        raise ReplicaConfigError("REPLICA_LEASE_TTL_S must be at least 1 second")
    if not settings.replica_secret:
        log.warning("REPLICA_SECRET is not set: requests are not forwarded between replicas")
    elif not settings.replica_address:
        log.warning("REPLICA_ADDRESS is not set: other replicas cannot forward requests here")


def own_engine(database_url: str) -> AsyncEngine:
    """Leases, NOTIFY and the LISTEN connection: a few connections of their own. No ping at
    checkout (a round trip for every renewal): a dead connection fails its statement, is
    dropped, and the next one is new."""
    return create_async_engine(normalize_url(database_url), pool_size=3, max_overflow=2)


@asynccontextmanager
async def replica_service(
    settings: Any,
    pool: TerminalPool,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Replicas | None]:
    config = ReplicaSettings.from_settings(settings)
    if not config.replica_leases:
        yield None
        return
    check(config, settings.database_url)
    me = config.replica_id
    app_engine = sessions.kw.get("bind")
    if not isinstance(app_engine, AsyncEngine):
        raise ReplicaConfigError("the sessionmaker must be bound to the app's AsyncEngine")
    stamp_connections(app_engine, me)
    engine = own_engine(settings.database_url)
    listener = Listener(engine)
    forwarder = None
    if config.replica_secret:
        forwarder = Forwarder(me, config.replica_secret, timeout_s=config.replica_forward_timeout_s)
    keeper = LeaseKeeper(
        engine,
        pool.holdings,
        replica_id=me,
        address=config.replica_address or None,
        ttl_s=config.replica_lease_ttl_s,
    )
    placement = ReplicaPlacement(me, keeper.lookup)
    bus = ReplicaBus(me, engine, sessions, listener)
    default_key = None
    if getattr(settings, "has_default_account", False):
        default_key = AccountKey(settings.default_account_login, settings.default_account_server)
    interest = Interest(me, engine, sessions, listener, pool, default_key=default_key)
    replicas = Replicas(
        config, engine, keeper, placement, listener, bus, forwarder, sessions, interest
    )
    keeper.on_board = replicas._board
    listener.on(LEASES_CHANNEL, lambda sender: None if sender == me else keeper.wake())
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        if forwarder is not None:
            stack.push_async_callback(forwarder.close)
        await listener.start()
        stack.push_async_callback(listener.stop)
        stack.push_async_callback(bus.close)
        stack.push_async_callback(interest.stop)
        pool.holdings.placement = placement
        await keeper.start()
        stack.push_async_callback(keeper.stop)
        stack.push_async_callback(_stop_orphans, replicas)
        log.info(
            "replica %s: holding %d of %d terminal(s)",
            me,
            len(pool.holdings.held()),
            len(pool.holdings.names),
        )
        yield replicas


def install_replicas(app: FastAPI) -> None:
    """What ``create_app`` adds for several replicas (harmless with ``REPLICA_LEASES`` off):

    - :class:`ForwardingMiddleware` just inside the request log (whose access line then shows
      the answer the caller got); it does nothing unless the lifespan state holds a forwarder
      (``replica_forwarder``, set by ``create_app``'s lifespan);
    - a quiet handler for ``ServedElsewhere``: no error, the middleware forwards the request
      and drops this answer;
    - ``gateway_replica_*`` metrics, read from the lifespan state's ``replicas``.
    """
    stack = app.user_middleware
    logs: object = RequestLogMiddleware
    index = next((i for i, m in enumerate(stack) if m.cls is logs), -1)
    stack.insert(index + 1, Middleware(ForwardingMiddleware))
    app.add_exception_handler(ServedElsewhere, _to_be_forwarded)
    collector = ReplicaCollector()
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.registry.register(collector)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with inner(app_) as state:
            collector.replicas = (state or {}).get("replicas")
            try:
                yield state or {}
            finally:
                collector.replicas = None

    app.router.lifespan_context = lifespan


async def _to_be_forwarded(_: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc), "code": "FORWARDED"}, status_code=503)


async def _stop_orphans(replicas: Replicas) -> None:
    if replicas.orphans is not None:
        await replicas.orphans.stop()
