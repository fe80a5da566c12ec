"""Proving a password: a pool session whose terminal always logs in.

A terminal that already holds an account would serve a normal ``pool.session`` without logging
in, so a wrong password for an account someone else keeps busy would look right. Connecting,
changing a password and reconnecting therefore use :func:`fresh_login_session`: the pool hands
out a terminal as usual and then makes it log in with the given credentials, counted as a
switch. A refused login makes the pool forget what that terminal holds, as any failed switch.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from gateway.terminal.pool import AccountKey, Credentials, TerminalPool
from gateway.terminal.port import TerminalPort
from gateway.terminal.scheduler import Grant, Request


class _FreshLogin(Request):
    """A session request that must log in even on a terminal already holding its account."""


class AccountPool(TerminalPool):
    """The terminal pool plus :meth:`fresh_login_session`."""

    @contextlib.asynccontextmanager
    async def fresh_login_session(
        self, account: AccountKey, credentials: Credentials, deadline: float
    ) -> AsyncIterator[TerminalPort]:
        request = _FreshLogin(next(self._seq), account.server, account=account)
        async with self._borrow(request, credentials, deadline) as terminal:
            yield terminal

    async def _acquire(self, request: Request, deadline: float) -> Grant:
        grant = await super()._acquire(request, deadline)
        if isinstance(request, _FreshLogin) and grant.switch_to is None:
            return Grant(grant.slot, request.account)
        return grant


@contextlib.asynccontextmanager
async def fresh_login_session(
    pool: TerminalPool, account: AccountKey, credentials: Credentials, deadline: float
) -> AsyncIterator[TerminalPort]:
    """A terminal that has just logged into ``account`` with ``credentials``."""
    if not isinstance(pool, AccountPool):
        raise TypeError("fresh logins need the gateway's AccountPool")
    async with pool.fresh_login_session(account, credentials, deadline) as terminal:
        yield terminal
