"""An account session for an account named inside the handler (a path or body field), where
``AccountDep`` (which reads ``?account_id=``) cannot see it. Same rules as ``AccountDep``:
another user's account is 404, and the terminal stays logged into it until the block ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request

from gateway.accounts.context import AccountContext, get_account_context
from gateway.deps import CurrentUser, KeyringDep, PoolDep, SettingsDep

_context = asynccontextmanager(get_account_context)


class AccountOpener:
    def __init__(
        self,
        request: Request,
        user: CurrentUser,
        keyring: KeyringDep,
        settings: SettingsDep,
        pool: PoolDep,
    ) -> None:
        self.args = (request, user, keyring, settings, pool)

    @asynccontextmanager
    async def open(self, account_id: str | None) -> AsyncIterator[AccountContext]:
        """The account ``account_id`` (default: the caller's current one)."""
        async with _context(*self.args, account_id) as ctx:
            yield ctx


OpenerDep = Annotated[AccountOpener, Depends()]
