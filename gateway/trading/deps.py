"""Dependencies of the trading routers: the desk for the caller's account, the key header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.context import AccountDep, resolve_account
from gateway.auth.schemas import User
from gateway.config import Settings
from gateway.db import session_scope
from gateway.store.crypto import Keyring
from gateway.terminal.pool import TerminalPool
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


def reopener(
    pool: TerminalPool,
    keyring: Keyring,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    user: User,
    account_id: str,
) -> Reopen:
    """A way to get a terminal on the account again later (background reconciliation)."""

    @asynccontextmanager
    async def reopen() -> AsyncIterator[TerminalPort]:
        async with session_scope(sessions) as session:
            resolved = await resolve_account(session, keyring, settings, user, account_id)
        deadline = pool.deadline(settings.request_timeout_s)
        async with pool.session(resolved.key, resolved.credentials, deadline) as terminal:
            yield terminal

    def opener() -> AbstractAsyncContextManager[TerminalPort]:
        return reopen()

    return opener


async def get_desk(request: Request, context: AccountDep) -> Desk:
    """Async, as every dependency here: FastAPI runs a plain ``def`` one in a worker thread."""
    state = request.state
    return Desk(
        terminal=context.terminal,
        account_id=context.account.id,
        user_id=context.user.id,
        sessions=request.state.sessionmaker,
        reopen=reopener(
            state.pool,
            state.keyring,
            state.settings,
            state.sessionmaker,
            context.user,
            context.account.id,
        ),
        background=state.reconciliations,
        ip=request.client.host if request.client else None,
    )


DeskDep = Annotated[Desk, Depends(get_desk)]


async def time_basis(request: Request, context: AccountDep) -> TimeBasis:
    clocks: ServerClocks = request.state.clocks
    return await clocks.basis(context.terminal, context.account.server)


BasisDep = Annotated[TimeBasis, Depends(time_basis)]
