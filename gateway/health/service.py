"""Probing terminals: one bounded check each, never hanging the health endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from gateway.auth.verifier import TokenVerifier
from gateway.errors import from_terminal_error
from gateway.health.schemas import HealthResponse, PoolHealth, PoolTerminal, TerminalHealth
from gateway.terminal.errors import MT5Error, TerminalError
from gateway.terminal.pool import TerminalPool
from gateway.terminal.port import TerminalPort

NO_IPC = -10004  # a terminal no account was logged into yet: idle, not broken


async def probe(terminal: TerminalPort, timeout_s: float) -> TerminalHealth:
    try:
        info = await asyncio.wait_for(terminal.terminal_info(), timeout_s)
        account = await asyncio.wait_for(terminal.account_info(), timeout_s)
    except TimeoutError:
        return TerminalHealth(name=terminal.name, reachable=False, connected=False, error="TIMEOUT")
    except TerminalError as exc:  # an MT5Error means the server answered, the terminal failed
        idle = isinstance(exc, MT5Error) and exc.code == NO_IPC
        return TerminalHealth(
            name=terminal.name,
            reachable=isinstance(exc, MT5Error),
            connected=False,
            error="NOT_LOGGED_IN" if idle else from_terminal_error(exc).code,
        )
    return TerminalHealth(
        name=terminal.name,
        reachable=True,
        connected=bool(info.get("connected")),
        account=account.get("login"),
        server=account.get("server"),
    )


def pool_health(pool: TerminalPool) -> PoolHealth:
    snap = pool.snapshot()
    return PoolHealth(
        terminals=[PoolTerminal.model_validate(t, from_attributes=True) for t in snap.terminals],
        healthy=snap.healthy,
        busy=snap.busy,
        queued=snap.queued,
        switches=snap.switches,
        served=snap.served,
        rejected=snap.rejected,
    )


async def health(
    terminals: Sequence[TerminalPort], pool: TerminalPool, verifier: TokenVerifier, timeout_s: float
) -> HealthResponse:
    checks = await asyncio.gather(*(probe(t, timeout_s) for t in terminals))
    reachable = any(c.reachable for c in checks)
    connected = any(c.connected for c in checks)
    status: Literal["healthy", "degraded", "unhealthy"]
    if checks and connected and all(c.reachable for c in checks):
        status = "healthy"
    elif reachable:
        status = "degraded"
    else:
        status = "unhealthy"
    jwks = verifier.jwks
    first = next((c for c in checks if c.connected), checks[0] if checks else None)
    return HealthResponse(
        status=status,
        mt5_available=reachable,
        mt5_connected=connected,
        mt5_library="MetaTrader5 over RPyC",
        supabase_available=jwks.reachable if jwks is not None and jwks.url else True,
        account=first.account if first else None,
        timestamp=datetime.now(UTC).isoformat(),
        terminals=list(checks),
        pool=pool_health(pool),
    )
