"""Probing terminals: one bounded check each, never hanging the health endpoint.

:func:`health` is the full picture (for admins); :func:`public` is what ``/health`` shows
anyone: the same shape with other users' logins and servers and all error text removed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gateway.auth.verifier import TokenVerifier
from gateway.config import Settings
from gateway.errors import from_terminal_error
from gateway.health.schemas import HealthResponse, PoolHealth, PoolTerminal, TerminalHealth
from gateway.terminal.errors import MT5Error, TerminalError
from gateway.terminal.pool import TerminalPool
from gateway.terminal.port import TerminalPort

NO_IPC = -10004  # a terminal no account was logged into yet: idle, not broken


@dataclass(frozen=True)
class Shown:
    """The one account the public answer may name (single-tenant mode), if any."""

    login: int | None = None
    server: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Shown:
        single_tenant = settings.uses_embedded_sim or bool(settings.allowed_user_ids)
        if settings.has_default_account and single_tenant:
            return cls(settings.default_account_login, settings.default_account_server)
        return cls()

    def allows(self, login: int | None, server: str | None) -> bool:
        return self.login is not None and (login, server) == (self.login, self.server)


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


def public(full: HealthResponse, shown: Shown) -> HealthResponse:
    """``full`` without any login or server but the configured account's, and no error text."""
    terminals = [
        t
        if shown.allows(t.account, t.server)
        else t.model_copy(update={"account": None, "server": None})
        for t in full.terminals
    ]
    pooled = [
        t.model_copy(
            update={"last_error": None}
            if shown.allows(t.login, t.server)
            else {"last_error": None, "login": None, "server": None}
        )
        for t in full.pool.terminals
    ]
    held = any(t.connected and shown.allows(t.account, t.server) for t in full.terminals)
    return full.model_copy(
        update={
            "account": shown.login if held else None,
            "terminals": terminals,
            "pool": full.pool.model_copy(update={"terminals": pooled}),
        }
    )
