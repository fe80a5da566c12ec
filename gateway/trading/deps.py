"""Dependencies of the trading routers: the desk for the caller's account, the key header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.accounts.context import AccountDep, AccountRef, resolve_account
from gateway.auth.schemas import User
from gateway.db import session_scope
from gateway.terminal.port import TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis
from gateway.trading.desk import Desk, Reopen

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Makes the call safe to retry: the same key answers the first result",
    ),
]


def reopener(request: Request, user: User, account: AccountRef) -> Reopen:
    """A way to get a terminal on ``account`` again later (background reconciliation)."""
    state = request.state
    pool, keyring, settings, maker = state.pool, state.keyring, state.settings, state.sessionmaker

    @asynccontextmanager
    async def reopen() -> AsyncIterator[TerminalPort]:
        async with session_scope(maker) as session:
            resolved = await resolve_account(session, keyring, settings, user, account.id)
        deadline = pool.deadline(settings.request_timeout_s)
        async with pool.session(resolved.key, resolved.credentials, deadline) as terminal:
            yield terminal

    def opener() -> AbstractAsyncContextManager[TerminalPort]:
        return reopen()

    return opener


def get_desk(request: Request, context: AccountDep) -> Desk:
    return Desk(
        terminal=context.terminal,
        account_id=context.account.id,
        user_id=context.user.id,
        sessions=request.state.sessionmaker,
        reopen=reopener(request, context.user, context.account),
        ip=request.client.host if request.client else None,
    )


DeskDep = Annotated[Desk, Depends(get_desk)]


async def time_basis(request: Request, context: AccountDep) -> TimeBasis:
    clocks: ServerClocks = request.state.clocks
    return await clocks.basis(context.terminal, context.account.server)


BasisDep = Annotated[TimeBasis, Depends(time_basis)]
