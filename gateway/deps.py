"""Request dependencies, named once as ``Annotated`` aliases.

Resources live in the lifespan state (``gateway.lifespan.State``) and are reached through
``request.state``; tests can swap any of these with ``app.dependency_overrides``.

The account-scoped ones (``AccountDep``, ``MarketDep``, ``TerminalDep``) live in
``gateway.accounts.context``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.schemas import Principal, User
from gateway.auth.verifier import TokenVerifier
from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import AuthError
from gateway.keys.audit import used_key
from gateway.keys.scopes import authorize
from gateway.store.crypto import Keyring
from gateway.terminal.pool import TerminalPool
from gateway.terminal.servertime import ServerClocks
from gateway.validation import Ticket

SYMBOL_PATTERN = r"^[A-Za-z0-9._#+\-]{1,29}$"

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SupabaseJWT",
    description="A Supabase access token, an MT5-credential session token (`POST /api/v1/login`)"
    " or an API key (`mt5gw_…`): `Authorization: Bearer <token>`",
)
api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key (`POST /api/v1/keys`), when not sent as a bearer token",
)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_pool(request: Request) -> TerminalPool:
    pool: TerminalPool = request.state.pool
    return pool


async def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.state.keyring
    return keyring


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    async with session_scope(sessionmaker) as session:
        yield session


async def get_clocks(request: Request) -> ServerClocks:
    clocks: ServerClocks = request.state.clocks
    return clocks


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> User:
    """The verified caller; 401 (with WWW-Authenticate) for a missing or bad credential, 403
    ``SCOPE`` for what the credential may not do here (``gateway.keys.scopes``)."""
    ip = request.client.host if request.client else None
    try:
        token = credentials.credentials if credentials is not None else (api_key or "")
        if not token.strip():
            raise AuthError("Not authenticated")
        principal = await _authenticate(request, token.strip(), ip)
    except AuthError as exc:
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.jwt_failure(exc.message)
        raise
    request.state.principal = principal
    used_key(principal.user, ip)
    authorize(request, principal.user)
    return principal.user


async def _authenticate(request: Request, token: str, ip: str | None) -> Principal:
    authenticator = getattr(request.state, "authenticator", None)
    if authenticator is not None:
        found: Principal = await authenticator.authenticate(token, ip)
        return found
    verifier: TokenVerifier = request.state.verifier  # an app without gateway.auth.install
    return await verifier.principal(token)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PoolDep = Annotated[TerminalPool, Depends(get_pool)]
KeyringDep = Annotated[Keyring, Depends(get_keyring)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClocksDep = Annotated[ServerClocks, Depends(get_clocks)]
CurrentUser = Annotated[User, Depends(get_current_user)]

SymbolPath = Annotated[
    str, Path(pattern=SYMBOL_PATTERN, description="Symbol name, e.g. EURUSD", examples=["EURUSD"])
]
SymbolQuery = Annotated[str | None, Query(pattern=SYMBOL_PATTERN, description="Only this symbol")]
TicketQuery = Annotated[Ticket | None, Query(description="Ticket number")]
