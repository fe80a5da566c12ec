"""/api/v1/accounts… and /api/v1/servers: connect, list, switch, update, delete MT5 accounts.

Paths follow seed 003 (connect, list, current, switch, update, delete) plus test-connection,
status and reconnect (seeds 001/002) and the broker server list. Every ``{account_id}`` is one
of the caller's own accounts; any other id answers 404 ``ACCOUNT_NOT_FOUND``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from gateway.accounts import schemas as s
from gateway.accounts import service
from gateway.accounts.context import ACCOUNT_ID_PATTERN, AccountDep
from gateway.accounts.env import EnvDep
from gateway.deps import CurrentUser, SessionDep
from gateway.errors import ErrorResponse

router = APIRouter(prefix="/accounts", tags=["accounts"])
servers_router = APIRouter(tags=["accounts"])

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="Your account's id")]


THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "Too many failed credential attempts: `LOGIN_THROTTLED`, see Retry-After",
    }
}


@router.post("/connect", status_code=status.HTTP_201_CREATED, responses=THROTTLED)
async def connect(
    body: s.ConnectRequest, env: EnvDep, session: SessionDep, user: CurrentUser
) -> s.ConnectedAccount:
    """Verify the credentials on a terminal, store them encrypted and make the account current.

    Connecting a login you already have refreshes its password and settings.
    Wrong credentials: 400 `MT5_AUTH_FAILED`; unknown server: 400 `UNKNOWN_SERVER` with
    `known_servers`."""
    return await service.connect(env, session, user, body)


@router.post("/test-connection", responses=THROTTLED)
async def test_connection(
    body: s.Credentials, env: EnvDep, user: CurrentUser
) -> s.TestConnectionResponse:
    """Verify credentials on a terminal without storing anything."""
    return await service.test_connection(env, user, body)


@router.get("")
async def list_accounts(session: SessionDep, user: CurrentUser) -> s.AccountsResponse:
    """Your accounts (without passwords), oldest first."""
    return await service.list_accounts(session, user)


@router.get("/current")
async def current(context: AccountDep, session: SessionDep) -> s.ConnectedAccount:
    """The account requests act for without `?account_id=`; a terminal logs into it if needed.

    Without stored accounts this is the configured single-tenant account (id `default`), when
    you are allowed to use it."""
    return await service.current(session, context)


@router.post("/{account_id}/switch")
async def switch(
    account_id: AccountId, env: EnvDep, session: SessionDep, user: CurrentUser
) -> s.ConnectedAccount:
    """Make the account your current one and have a terminal logged into it."""
    return await service.switch(env, session, user, account_id)


@router.put("/{account_id}", responses=THROTTLED)
async def update(
    account_id: AccountId,
    body: s.UpdateRequest,
    env: EnvDep,
    session: SessionDep,
    user: CurrentUser,
) -> s.AccountOut:
    """Change the label, default flag, risk limits or password (a new password is verified
    on a terminal first)."""
    return await service.update(env, session, user, account_id, body)


@router.delete("/{account_id}")
async def delete(account_id: AccountId, session: SessionDep, user: CurrentUser) -> s.Deleted:
    """Deactivate the account (soft delete: history and audit keep referring to it)."""
    return await service.delete(session, user, account_id)


@router.get("/{account_id}/status")
async def account_status(
    account_id: AccountId, env: EnvDep, session: SessionDep, user: CurrentUser
) -> s.AccountStatus:
    """What the last login said, when it was seen, and which terminal holds it now."""
    return await service.status(env, session, user, account_id)


@router.post("/{account_id}/reconnect", responses=THROTTLED)
async def reconnect(
    account_id: AccountId, env: EnvDep, session: SessionDep, user: CurrentUser
) -> s.AccountStatus:
    """Log a terminal into the account again with its stored password."""
    return await service.reconnect(env, session, user, account_id)


@servers_router.get("/servers")
async def servers(env: EnvDep) -> s.ServersResponse:
    """Broker servers this gateway knows: configured ones and those its terminals are on."""
    return service.servers(env)
