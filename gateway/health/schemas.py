"""Health answers (seed contract: status, mt5_available, mt5_connected, account, timestamp).

The public ``/health`` keeps these shapes but never names another user's MT5 login or server,
nor any error text: ``account``/``server``/``login`` are filled only for the configured
single-tenant account, ``last_error`` is always null there. ``GET /api/v1/admin/pool`` has it
all (admins only).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TerminalHealth(BaseModel):
    name: str
    reachable: bool = Field(description="The terminal server answers")
    connected: bool = Field(description="The terminal is connected to its broker server")
    account: int | None = Field(
        default=None, description="Login it holds (public answer: the configured account only)"
    )
    server: str | None = Field(
        default=None, description="Its broker server (public answer: the configured account's)"
    )
    error: str | None = Field(default=None, description="Error code when not healthy")


class PoolTerminal(BaseModel):
    """The pool's view of one terminal."""

    name: str
    server: str | None = Field(description="Broker server of the account it holds")
    login: int | None = Field(description="The account it holds (None: none known)")
    busy: bool
    healthy: bool = Field(description="In rotation (answers the pool's health checks)")
    switches: int = Field(description="Account logins so far")
    served: int = Field(description="Requests served so far")
    queue_depth: int = Field(description="Queued requests it could serve without switching")
    trade_allowed: bool | None = Field(description="Algo trading allowed after the last check")
    last_error: str | None
    only_server: str | None = Field(description="The one broker server it may log into")


class PoolHealth(BaseModel):
    """Which terminal holds which account, the queue and the switch count."""

    terminals: list[PoolTerminal]
    healthy: int
    busy: int
    queued: int
    switches: int
    served: int
    rejected: int = Field(description="Requests refused with 503 (queue full or deadline)")


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]
    mt5_available: bool = Field(description="At least one terminal server answers")
    mt5_connected: bool = Field(description="At least one terminal is connected to its broker")
    mt5_library: str
    supabase_available: bool | None = Field(
        description="Whether the last JWKS fetch worked (None: not fetched yet)"
    )
    account: int | None = Field(
        description="Login of the configured single-tenant account when a terminal holds it"
    )
    timestamp: str = Field(description="Gateway UTC time, ISO-8601")
    terminals: list[TerminalHealth]
    pool: PoolHealth


class AdminPool(BaseModel):
    """Every terminal's probe and the pool's full view: logins, servers, last errors."""

    terminals: list[TerminalHealth]
    pool: PoolHealth
