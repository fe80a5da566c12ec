"""The app factory of the replica tests: ``gateway.main:create_app`` wired for several replicas
the way the lifespan is meant to wire them (see the report to the lead), until it does itself.

- the pool is built holding no terminal (a replica uses only the terminals it leases);
- after the gateway's own resources, :func:`replica_service` starts (leases, placement, bus,
  forwarder) and takes up what stopped replicas left unsettled;
- the forwarding middleware sits just inside the request log; the stream (installed around it
  all) gets the replicas' bus and remote watches.

The replica settings come from the environment (``REPLICA_*``) when ``Settings`` lacks them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields
from typing import Any

from fastapi import FastAPI

import gateway.main as main
from gateway.config import Settings
from gateway.replicas.service import install_replicas, replica_service
from gateway.replicas.settings import ReplicaSettings
from gateway.stream.install import install_stream
from gateway.terminal.pool import TerminalPool
from gateway.terminal.port import TerminalPort
from gateway.trading.deps import reopener

_make_pool = main.make_pool
STREAM = {"stream_account_interval_s": 0.2, "stream_away_poll_s": 0.0}


def make_pool_holding_nothing(
    settings: Settings, terminals: Sequence[TerminalPort]
) -> TerminalPool:
    pool = _make_pool(settings, terminals)
    for name in pool.holdings.names:
        pool.holdings.release(name)
    return pool


def replica_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``REPLICA_*`` variables as ReplicaSettings fields (those Settings does not have)."""
    values: dict[str, Any] = {}
    for f in fields(ReplicaSettings):
        if f.name in Settings.model_fields:
            continue
        raw = environ.get(f.name.upper())
        if raw is None:
            continue
        default = getattr(ReplicaSettings(), f.name)
        if isinstance(default, bool):
            values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(default, float):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    return values


def create_app() -> FastAPI:
    main.make_pool = make_pool_holding_nothing
    main.install_stream = lambda app, **overrides: None  # installed below, around the replicas
    app = main.create_app()
    overrides = replica_overrides(os.environ)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        async with inner(app_) as state:
            assert state is not None
            settings, pool, sessions = state["settings"], state["pool"], state["sessionmaker"]
            async with replica_service(settings, pool, sessions, **overrides) as replicas:
                if replicas is None:
                    yield state
                    return

                def reopen_for(user: Any, account_id: str) -> Any:
                    keyring = state["keyring"]
                    return reopener(pool, keyring, settings, sessions, user, account_id)

                await replicas.resume_orphans(reopen_for, state["reconciliations"])
                yield {**state, **replicas.state()}

    app.router.lifespan_context = lifespan
    install_replicas(app)
    install_stream(app, **STREAM)
    return app
