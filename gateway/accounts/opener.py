"""Accounts named inside a handler (a path or body field), where ``AccountDep`` (which reads
``?account_id=``) cannot see them. Same rules as ``AccountDep``: another user's account is 404.

- ``OpenerDep``: a terminal session on the account, held until the block ends;
- ``OwnAccount``: the path's ``{account_id}`` checked to be the caller's, for store-only reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Path, Request

from gateway.accounts.context import (
    ACCOUNT_ID_PATTERN,
    AccountContext,
    get_account_context,
    resolve_account,
)
from gateway.deps import CurrentUser, KeyringDep, SessionDep, SettingsDep

_context = asynccontextmanager(get_account_context)


class AccountOpener:
    def __init__(self, request: Request, user: CurrentUser) -> None:
        self.request, self.user = request, user

    @asynccontextmanager
    async def open(self, account_id: str | None) -> AsyncIterator[AccountContext]:
        """The account ``account_id`` (default: the caller's current one)."""
        async with _context(self.request, self.user, account_id) as ctx:
            yield ctx


OpenerDep = Annotated[AccountOpener, Depends()]


AccountIdPath = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="Your account's id")]


async def own_account(
    account_id: AccountIdPath,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> str:
    """The path's account id if it is the caller's (404 otherwise)."""
    return (await resolve_account(session, keyring, settings, user, account_id)).ref.id


OwnAccount = Annotated[str, Depends(own_account)]
