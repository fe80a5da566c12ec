"""A pool of MT5 terminals shared by many accounts, with an account-switching scheduler.

A terminal holds one logged-in account at a time and a switch (``login``) costs a real terminal
1–2 s, so the pool keeps every terminal on its account as long as that pays and switches only
when a request has nowhere else to go. Services borrow a terminal for one account::

    async with pool.session(AccountKey(10001, "Sim-Demo"), credentials, deadline, user=uid) as t:
        info = await t.account_info()

or for market data of a broker server, served by any terminal already on that server::

    async with pool.market_data("Sim-Demo", deadline, user=uid) as terminal:
        bars = await terminal.copy_rates_from_pos("EURUSD", 16385, 0, 100)

How a request is served:

1. A user who already has ``user_limit`` requests in the pool (queued or in flight) is refused
   at once with :class:`UserBusy` (``user_shares.py``). Then the request joins one queue
   (bounded by ``queue_limit``; full → :class:`PoolBusy` at once).
2. Whenever a terminal frees up, a request arrives or a terminal comes back, the scheduler hands
   idle terminals to waiting requests: affinity first, then batches per account under a fairness
   bound, then a switch of an idle terminal (least recently used first); among the requests a
   rule could take, users take turns (``scheduler.py``).
3. A request that needs a switch logs the terminal in itself (``switching.py``): the password is
   fetched only now, and a failed login raises the ``MT5Error`` to that request.
4. The session has the terminal to itself until it exits. A wait past ``deadline`` (a
   ``time.monotonic()`` value) raises :class:`PoolBusy` with a ``retry_after_s`` estimated from
   the queue depth, the measured switch cost and the number of healthy terminals.
5. Idle terminals are pinged every ``health_interval_s``; an unreachable or hung one leaves the
   rotation until it answers again (``health_checks.py``).

With several gateway replicas, :attr:`TerminalPool.holdings` says which terminals this one holds
(``held=False`` builds the pool holding none until leases are taken) and where a request is
better served; such a request raises :class:`ServedElsewhere` before it queues
(``holding.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from gateway.terminal.health_checks import DEAD, HealthChecks
from gateway.terminal.holding import Holdings
from gateway.terminal.pool_errors import (
    NoTerminalForServer,
    PoolBusy,
    PoolClosed,
    PoolError,
    ServedElsewhere,
    UserBusy,
)
from gateway.terminal.pool_snapshot import PoolSnapshot, TerminalState, snapshot_of
from gateway.terminal.port import TerminalPort
from gateway.terminal.scheduler import AccountKey, Grant, Request, Scheduler, Slot
from gateway.terminal.switching import Credentials, Switcher, ewma
from gateway.terminal.user_shares import UserShares

__all__ = [
    "AccountKey",
    "Credentials",
    "NoTerminalForServer",
    "PoolBusy",
    "PoolClosed",
    "PoolError",
    "PoolSnapshot",
    "ServedElsewhere",
    "TerminalPool",
    "TerminalState",
    "UserBusy",
]

T = TypeVar("T")


class TerminalPool:
    """Terminals shared by accounts; see the module docstring for the algorithm.

    ``server_of(terminal)`` names the one broker server a terminal may log into (a real terminal
    installed from a broker's package may know only that broker's servers); None: any server.
    ``fairness_batch``: the most requests a terminal serves in a row for its account while
    another account waits for a switch. ``user_limit``: the most requests one user may have in
    the pool, queued or in flight. ``linger_s``: how long a freed terminal stays reserved for its
    account. ``switch_cost_s``: the first estimate of a switch, for ``retry_after_s``.
    ``held``: whether this gateway holds its terminals from the start (False: none until
    ``holdings.hold``, for replicas that lease them).
    """

    def __init__(
        self,
        terminals: Sequence[TerminalPort],
        *,
        server_of: Callable[[TerminalPort], str | None] | None = None,
        queue_limit: int = 256,
        fairness_batch: int = 16,
        user_limit: int = 8,
        health_interval_s: float = 5.0,
        ping_timeout_s: float = 5.0,
        switch_timeout_ms: int = 60_000,
        switch_cost_s: float = 2.0,
        linger_s: float = 0.02,
        held: bool = True,
    ) -> None:
        if not terminals:
            raise ValueError("a terminal pool needs at least one terminal")
        if len({t.name for t in terminals}) != len(terminals):
            raise ValueError("terminal names must be unique")
        slots = [
            Slot(t, only_server=server_of(t) if server_of else None, held=held) for t in terminals
        ]
        self._scheduler = Scheduler(slots, fairness_batch=fairness_batch, linger_s=linger_s)
        self._shares = UserShares(user_limit)
        self.holdings = Holdings(self._scheduler, on_change=self._dispatch)
        self._switcher = Switcher(
            self._scheduler,
            timeout_ms=switch_timeout_ms,
            cost_s=switch_cost_s,
            on_switched=self.holdings.switched,
            before_login=self.holdings.switching,
        )
        self._health = HealthChecks(
            self._scheduler,
            interval_s=health_interval_s,
            ping_timeout_s=ping_timeout_s,
            on_change=self._dispatch,
        )
        self._queue_limit = queue_limit
        self._hold_cost_s = 0.05  # running estimate of how long a session keeps its terminal
        self._seq = itertools.count()
        self._rejected = 0
        self._closed = False
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = 0.0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background health checks (idempotent)."""
        self._health.start()

    async def close(self, *, close_terminals: bool = True) -> None:
        """Stop health checks, fail every waiting request with PoolClosed, close the terminals."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        await self._health.stop()
        for request in self._scheduler.queue:
            if not request.waiter.done():
                request.waiter.set_exception(PoolClosed("terminal pool closed"))
        self._scheduler.queue.clear()
        if close_terminals:
            for slot in self._scheduler.slots:
                with contextlib.suppress(Exception):
                    await slot.terminal.close()

    async def __aenter__(self) -> TerminalPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- borrowing a terminal -------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def session(
        self,
        account: AccountKey,
        credentials: Credentials,
        deadline: float,
        *,
        fresh_login: bool = False,
        user: str | None = None,
    ) -> AsyncIterator[TerminalPort]:
        """A terminal logged into ``account`` for the duration of the block, used by nobody else.

        ``fresh_login`` makes the terminal log in with ``credentials`` even when it already holds
        the account (counted as a switch): the way to prove a password, since a terminal that
        stays logged in would otherwise accept any. ``user``: who asks, for the per-user share
        and the round-robin between users (None: the gateway's own work, not counted)."""
        request = Request(next(self._seq), account.server, account=account, user=user)
        await self._place(request)
        async with self._borrow(request, credentials, deadline, fresh_login) as terminal:
            yield terminal

    @contextlib.asynccontextmanager
    async def market_data(
        self,
        server: str,
        deadline: float,
        fallback: tuple[AccountKey, Credentials] | None = None,
        *,
        user: str | None = None,
    ) -> AsyncIterator[TerminalPort]:
        """A terminal logged into any account on ``server`` (no switch), for data that is not
        account-specific. Only if no healthy terminal is on that server does one switch, to
        ``fallback``; without a fallback that raises :class:`NoTerminalForServer`."""
        account, credentials = fallback if fallback else (None, None)
        request = Request(next(self._seq), server, fallback=account, user=user)
        await self._place(request)
        if account is None and not self._scheduler.covered(request):
            raise NoTerminalForServer(server)
        async with self._borrow(request, credentials, deadline) as terminal:
            yield terminal

    async def run(
        self,
        account: AccountKey,
        credentials: Credentials,
        fn: Callable[[TerminalPort], Awaitable[T]],
        deadline: float,
        *,
        user: str | None = None,
    ) -> T:
        """``await fn(terminal)`` inside :meth:`session`."""
        async with self.session(account, credentials, deadline, user=user) as terminal:
            return await fn(terminal)

    @staticmethod
    def deadline(seconds: float) -> float:
        """The deadline ``seconds`` from now, in the clock the pool uses."""
        return time.monotonic() + seconds

    # -- introspection --------------------------------------------------------------------------

    def snapshot(self) -> PoolSnapshot:
        return snapshot_of(
            self._scheduler,
            rejected=self._rejected,
            user_rejected=self._shares.refused,
            users=self._shares.users,
        )

    async def check_health(self) -> None:
        """Ping every idle terminal once (the health task does this every interval)."""
        await self._health.check()

    # -- internals ------------------------------------------------------------------------------

    async def _place(self, request: Request) -> None:
        """Raise ServedElsewhere if the placement sends ``request`` to another replica."""
        if self._closed:
            return  # _admit says PoolClosed
        remote = await self.holdings.elsewhere(request)
        if remote is not None:
            raise ServedElsewhere(remote.replica, remote.address)

    @contextlib.asynccontextmanager
    async def _borrow(
        self,
        request: Request,
        credentials: Credentials | None,
        deadline: float,
        fresh_login: bool = False,
    ) -> AsyncIterator[TerminalPort]:
        self._admit(request)
        try:
            grant = await self._acquire(request, deadline)
            slot = grant.slot
            switch_to = grant.switch_to or (request.account if fresh_login else None)
            started: float | None = None
            try:
                if switch_to is not None:
                    await self._switcher.switch(slot, switch_to, credentials)
                started = time.monotonic()
                yield slot.terminal
            except DEAD as exc:
                self._health.mark_dead(slot, exc)
                raise
            finally:
                if started is not None:  # the session got its terminal (a failed switch did not)
                    slot.served += 1
                    self._hold_cost_s = ewma(self._hold_cost_s, time.monotonic() - started)
                self._release(slot)
        finally:
            self._shares.done(request.user)

    def _admit(self, request: Request) -> None:
        """Refuse at once a user over their share, then a full pool; else count the request."""
        if self._closed:
            raise PoolClosed("terminal pool closed")
        user = request.user
        if user is not None and not self._shares.admit(user):
            healthy = max(1, sum(s.usable for s in self._scheduler.slots))
            wait = self._shares.load(user) * self._hold_cost_s / healthy
            raise UserBusy(user, self._shares.limit, max(1, math.ceil(wait)))
        sched = self._scheduler
        reason = None
        if not any(s.held for s in sched.slots):
            reason, retry = "no terminal held by this gateway", max(1, self.holdings.retry_s)
        elif not any(s.usable for s in sched.slots):
            reason, retry = "no healthy terminal", max(1, math.ceil(self._health.interval_s))
        elif len(sched.queue) >= self._queue_limit:
            reason, retry = "queue full", self._retry_after()
        if reason is not None:
            self._shares.done(user)
            self._rejected += 1
            raise PoolBusy(reason, retry)

    async def _acquire(self, request: Request, deadline: float) -> Grant:
        sched = self._scheduler
        loop = asyncio.get_running_loop()
        request.waiter = waiter = loop.create_future()
        sched.queue.append(request)
        timer = loop.call_later(max(0.0, deadline - time.monotonic()), self._expire, request)
        self._dispatch()
        try:
            grant: Grant = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result().slot)  # granted just as we were cancelled
            elif request in sched.queue:
                sched.queue.remove(request)
                self._dispatch()
            raise
        finally:
            timer.cancel()
        return grant

    def _expire(self, request: Request) -> None:
        if request.waiter.done() or request not in self._scheduler.queue:
            return
        self._scheduler.queue.remove(request)
        self._rejected += 1
        request.waiter.set_exception(PoolBusy("deadline passed in queue", self._retry_after()))

    def _dispatch(self) -> None:
        now = time.monotonic()
        for request, grant in self._scheduler.assign(now):
            request.waiter.set_result(grant)
        # A lingering terminal may be owed to a waiting request once its linger ends.
        ends = [s.linger_until for s in self._scheduler.slots if s.linger_until > now]
        if ends and self._scheduler.queue:
            when = min(ends)
            if self._wakeup is None or self._wakeup_at > when:
                if self._wakeup is not None:
                    self._wakeup.cancel()
                loop = asyncio.get_running_loop()
                self._wakeup = loop.call_later(when - now + 1e-4, self._wake)
                self._wakeup_at = when

    def _wake(self) -> None:
        self._wakeup = None
        self._dispatch()

    def _release(self, slot: Slot) -> None:
        self._scheduler.release(slot, time.monotonic())
        self._dispatch()

    def _retry_after(self) -> int:
        sched = self._scheduler
        healthy = max(1, sum(s.usable for s in sched.slots))
        accounts = len({r.target or r.server for r in sched.queue})
        work = len(sched.queue) * self._hold_cost_s + accounts * self._switcher.cost_s
        return max(1, math.ceil(work / healthy))
