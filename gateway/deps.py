"""Request dependencies, named once as ``Annotated`` aliases.

Resources live in the lifespan state (``gateway.main.State``) and are reached through
``request.state``; tests can swap any of these with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.auth.schemas import User
from gateway.auth.verifier import TokenVerifier
from gateway.config import Settings
from gateway.errors import AuthError
from gateway.terminal.port import TerminalPort
from gateway.terminal.registry import TerminalRegistry
from gateway.terminal.servertime import ServerClocks

SYMBOL_PATTERN = r"^[A-Za-z0-9._#+\-]{1,29}$"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SupabaseJWT",
    description="A Supabase access token: `Authorization: Bearer <jwt>`",
)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_registry(request: Request) -> TerminalRegistry:
    registry: TerminalRegistry = request.state.terminals
    return registry


def get_clocks(request: Request) -> ServerClocks:
    clocks: ServerClocks = request.state.clocks
    return clocks


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The verified caller; 401 (with WWW-Authenticate) for a missing or bad token."""
    if credentials is None or not credentials.credentials:
        raise AuthError("Not authenticated")
    verifier: TokenVerifier = request.state.verifier
    return await verifier.verify(credentials.credentials)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RegistryDep = Annotated[TerminalRegistry, Depends(get_registry)]
ClocksDep = Annotated[ServerClocks, Depends(get_clocks)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def get_terminal(registry: RegistryDep, user: CurrentUser) -> TerminalPort:
    """The terminal serving this caller (the account resolver slots in here)."""
    del user  # one shared account for now; per-user accounts will pick the terminal by user
    return registry.for_request()


TerminalDep = Annotated[TerminalPort, Depends(get_terminal)]

SymbolPath = Annotated[
    str, Path(pattern=SYMBOL_PATTERN, description="Symbol name, e.g. EURUSD", examples=["EURUSD"])
]
SymbolQuery = Annotated[str | None, Query(pattern=SYMBOL_PATTERN, description="Only this symbol")]
