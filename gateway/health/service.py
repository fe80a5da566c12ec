"""Probing terminals: one bounded check each, never hanging the health endpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from gateway.auth.verifier import TokenVerifier
from gateway.errors import from_terminal_error
from gateway.health.schemas import HealthResponse, TerminalHealth
from gateway.terminal.errors import MT5Error, TerminalError
from gateway.terminal.port import TerminalPort
from gateway.terminal.registry import TerminalRegistry


async def probe(terminal: TerminalPort, timeout_s: float) -> TerminalHealth:
    try:
        info = await asyncio.wait_for(terminal.terminal_info(), timeout_s)
        account = await asyncio.wait_for(terminal.account_info(), timeout_s)
    except TimeoutError:
        return TerminalHealth(name=terminal.name, reachable=False, connected=False, error="TIMEOUT")
    except TerminalError as exc:  # an MT5Error means the server answered, the terminal failed
        return TerminalHealth(
            name=terminal.name,
            reachable=isinstance(exc, MT5Error),
            connected=False,
            error=from_terminal_error(exc).code,
        )
    return TerminalHealth(
        name=terminal.name,
        reachable=True,
        connected=bool(info.get("connected")),
        account=account.get("login"),
        server=account.get("server"),
    )


async def health(
    registry: TerminalRegistry, verifier: TokenVerifier, timeout_s: float
) -> HealthResponse:
    checks = await asyncio.gather(*(probe(t, timeout_s) for t in registry.all()))
    reachable = any(c.reachable for c in checks)
    connected = any(c.connected for c in checks)
    status: Literal["healthy", "degraded", "unhealthy"]
    if checks and all(c.connected for c in checks):
        status = "healthy"
    elif reachable:
        status = "degraded"
    else:
        status = "unhealthy"
    jwks = verifier.jwks
    return HealthResponse(
        status=status,
        mt5_available=reachable,
        mt5_connected=connected,
        mt5_library="MetaTrader5 over RPyC",
        supabase_available=jwks.reachable if jwks is not None and jwks.url else True,
        account=checks[0].account if checks else None,
        timestamp=datetime.now(UTC).isoformat(),
        terminals=list(checks),
    )
