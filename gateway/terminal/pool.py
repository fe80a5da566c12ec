"""A pool of MT5 terminals shared by many accounts, with an account-switching scheduler.

A terminal holds one logged-in account at a time and a switch (``login``) costs a real terminal
1–2 s, so the pool keeps every terminal on its account as long as that pays and switches only
when a request has nowhere else to go. Services borrow a terminal for one account::

    async with pool.session(AccountKey(10001, "Sim-Demo"), credentials, deadline) as terminal:
        info = await terminal.account_info()

or for market data of a broker server, served by any terminal already on that server::

    async with pool.market_data("Sim-Demo", deadline) as terminal:
        bars = await terminal.copy_rates_from_pos("EURUSD", 16385, 0, 100)

How a request is served (the decisions themselves live in ``scheduler.py``):

1. It joins one queue (bounded by ``queue_limit``; full → :class:`PoolBusy` at once).
2. Whenever a terminal frees up, a request arrives or a terminal comes back, the scheduler hands
   idle terminals to waiting requests: affinity first, then batches per account under a fairness
   bound, then a switch of an idle terminal (least recently used first).
3. A request that needs a switch logs the terminal in itself: it calls ``credentials()`` (the
   password is fetched only now, never stored, never logged), ``login(...)``, then
   ``terminal_info()`` to check that algo trading survived the switch (if not: a warning in the
   log and ``trade_allowed=False`` in the snapshot). A failed login forgets the terminal's account
   and raises the ``MT5Error`` to that request.
4. The session has the terminal to itself until it exits. A wait past ``deadline`` (a
   ``time.monotonic()`` value) raises :class:`PoolBusy` with a ``retry_after_s`` estimated from
   the queue depth, the measured switch cost and the number of healthy terminals.
5. A health task pings idle terminals every ``health_interval_s``. An unreachable or hung terminal
   (also when a session's call says so) leaves the rotation and forgets its account; it comes
   back when it answers a ping again.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from gateway.terminal.errors import MT5Error, TerminalTimeout, TerminalUnreachable
from gateway.terminal.port import TerminalPort
from gateway.terminal.scheduler import AccountKey, Grant, Request, Scheduler, Slot

__all__ = [
    "AccountKey",
    "Credentials",
    "NoTerminalForServer",
    "PoolBusy",
    "PoolClosed",
    "PoolError",
    "PoolSnapshot",
    "TerminalPool",
    "TerminalState",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
Credentials = Callable[[], Awaitable[str] | str]
"""Returns the account's password; called only when a terminal must log in to that account."""

_DEAD = (TerminalUnreachable, TerminalTimeout)
NO_IPC = -10004  # last_error() of a terminal whose initialize() has not run yet


class PoolError(Exception):
    """Base of the pool's own errors (terminal failures stay ``TerminalError``)."""


class PoolBusy(PoolError):
    """No terminal in time: the queue is full or the deadline passed. Maps to 503 + Retry-After."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(f"terminal pool busy: {reason}; retry after {retry_after_s} s")
        self.reason = reason
        self.retry_after_s = retry_after_s


class NoTerminalForServer(PoolError):
    """Market data for a broker server that no terminal is logged into, and no account to log in."""

    def __init__(self, server: str) -> None:
        super().__init__(f"no terminal is logged into server {server!r}")
        self.server = server


class PoolClosed(PoolError):
    """The pool was closed while the request waited."""


@dataclass(frozen=True)
class TerminalState:
    name: str
    server: str | None
    login: int | None
    busy: bool
    healthy: bool
    switches: int
    served: int
    queue_depth: int  # queued requests this terminal could serve without switching
    trade_allowed: bool | None  # terminal_info().trade_allowed (the AlgoTrading button)
    last_error: str | None
    only_server: str | None  # the broker server this terminal is dedicated to, if any


@dataclass(frozen=True)
class PoolSnapshot:
    terminals: tuple[TerminalState, ...]
    healthy: int
    busy: int
    queued: int
    switches: int
    served: int
    rejected: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TerminalPool:
    """Terminals shared by accounts; see the module docstring for the algorithm.

    ``server_of(terminal)`` names the one broker server a terminal may log into (a real terminal
    installed from a broker's package may know only that broker's servers); None: any server.
    ``fairness_batch``: the most requests a terminal serves in a row for its account while
    another account waits for a switch. ``linger_s``: how long a freed terminal stays reserved
    for its account. ``switch_cost_s``: the first estimate of a switch, for ``retry_after_s``.
    """

    def __init__(
        self,
        terminals: Sequence[TerminalPort],
        *,
        server_of: Callable[[TerminalPort], str | None] | None = None,
        queue_limit: int = 256,
        fairness_batch: int = 16,
        health_interval_s: float = 5.0,
        ping_timeout_s: float = 5.0,
        switch_timeout_ms: int = 60_000,
        switch_cost_s: float = 2.0,
        linger_s: float = 0.02,
    ) -> None:
        if not terminals:
            raise ValueError("a terminal pool needs at least one terminal")
        if len({t.name for t in terminals}) != len(terminals):
            raise ValueError("terminal names must be unique")
        slots = [Slot(t, only_server=server_of(t) if server_of else None) for t in terminals]
        self._scheduler = Scheduler(slots, fairness_batch=fairness_batch, linger_s=linger_s)
        self._queue_limit = queue_limit
        self._health_interval_s = health_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._switch_timeout_ms = switch_timeout_ms
        self._switch_cost_s = switch_cost_s  # running estimate, refined by measured switches
        self._hold_cost_s = 0.05  # running estimate of how long a session keeps its terminal
        self._seq = itertools.count()
        self._rejected = 0
        self._closed = False
        self._health_task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = 0.0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background health checks (idempotent)."""
        if self._health_task is None:
            self._health_task = asyncio.create_task(self._health_loop(), name="pool-health")

    async def close(self, *, close_terminals: bool = True) -> None:
        """Stop health checks, fail every waiting request with PoolClosed, close the terminals."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
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
    ) -> AsyncIterator[TerminalPort]:
        """A terminal logged into ``account`` for the duration of the block, used by nobody else.

        ``fresh_login`` makes the terminal log in with ``credentials`` even when it already holds
        the account (counted as a switch): the way to prove a password, since a terminal that
        stays logged in would otherwise accept any."""
        request = Request(next(self._seq), account.server, account=account)
        async with self._borrow(request, credentials, deadline, fresh_login) as terminal:
            yield terminal

    @contextlib.asynccontextmanager
    async def market_data(
        self,
        server: str,
        deadline: float,
        fallback: tuple[AccountKey, Credentials] | None = None,
    ) -> AsyncIterator[TerminalPort]:
        """A terminal logged into any account on ``server`` (no switch), for data that is not
        account-specific. Only if no healthy terminal is on that server does one switch, to
        ``fallback``; without a fallback that raises :class:`NoTerminalForServer`."""
        account, credentials = fallback if fallback else (None, None)
        request = Request(next(self._seq), server, fallback=account)
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
    ) -> T:
        """``await fn(terminal)`` inside :meth:`session`."""
        async with self.session(account, credentials, deadline) as terminal:
            return await fn(terminal)

    @staticmethod
    def deadline(seconds: float) -> float:
        """The deadline ``seconds`` from now, in the clock the pool uses."""
        return time.monotonic() + seconds

    # -- introspection --------------------------------------------------------------------------

    def snapshot(self) -> PoolSnapshot:
        sched = self._scheduler
        states = tuple(
            TerminalState(
                name=s.name,
                server=s.holds.server if s.holds else None,
                login=s.holds.login if s.holds else None,
                busy=s.busy,
                healthy=s.healthy,
                switches=s.switches,
                served=s.served,
                queue_depth=sched.waiting_for(s),
                trade_allowed=s.trade_allowed,
                last_error=s.last_error,
                only_server=s.only_server,
            )
            for s in sched.slots
        )
        return PoolSnapshot(
            terminals=states,
            healthy=sum(t.healthy for t in states),
            busy=sum(t.busy for t in states),
            queued=len(sched.queue),
            switches=sum(t.switches for t in states),
            served=sum(t.served for t in states),
            rejected=self._rejected,
        )

    # -- internals ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _borrow(
        self,
        request: Request,
        credentials: Credentials | None,
        deadline: float,
        fresh_login: bool = False,
    ) -> AsyncIterator[TerminalPort]:
        grant = await self._acquire(request, deadline)
        slot = grant.slot
        switch_to = grant.switch_to or (request.account if fresh_login else None)
        started: float | None = None
        try:
            if switch_to is not None:
                await self._switch(slot, switch_to, credentials)
            started = time.monotonic()
            yield slot.terminal
        except _DEAD as exc:
            self._mark_dead(slot, exc)
            raise
        finally:
            if started is not None:  # the session got its terminal (a failed switch did not)
                slot.served += 1
                self._hold_cost_s = _ewma(self._hold_cost_s, time.monotonic() - started)
            self._release(slot)

    async def _acquire(self, request: Request, deadline: float) -> Grant:
        if self._closed:
            raise PoolClosed("terminal pool closed")
        sched = self._scheduler
        if not any(s.healthy for s in sched.slots):
            self._rejected += 1
            raise PoolBusy("no healthy terminal", max(1, math.ceil(self._health_interval_s)))
        if len(sched.queue) >= self._queue_limit:
            self._rejected += 1
            raise PoolBusy("queue full", self._retry_after())
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

    async def _switch(
        self, slot: Slot, account: AccountKey, credentials: Credentials | None
    ) -> None:
        if credentials is None:  # unreachable by construction; keeps the types honest
            raise PoolError(f"no credentials to log in {account}")
        slot.switches += 1
        started = time.monotonic()
        try:
            secret = credentials()
            password = await secret if inspect.isawaitable(secret) else secret
            await self._login(slot.terminal, account, password)
            del password, secret
            info = await slot.terminal.terminal_info()
        except MT5Error as exc:
            slot.last_error = f"login to {account} failed: ({exc.code}, {exc.mt5_message})"
            log.warning("terminal %s: %s", slot.name, slot.last_error)
            self._scheduler.forget(slot)
            raise
        except BaseException:
            self._scheduler.forget(slot)  # the terminal's account is unknown now
            raise
        self._switch_cost_s = _ewma(self._switch_cost_s, time.monotonic() - started)
        slot.last_error = None
        slot.trade_allowed = bool(info.get("trade_allowed"))
        if not slot.trade_allowed:
            log.warning(
                "terminal %s: algo trading is OFF after switching to %s; orders will be refused"
                " (retcode 10027) until it is switched back on in the terminal",
                slot.name,
                account,
            )

    async def _login(self, terminal: TerminalPort, account: AccountKey, password: str) -> None:
        """``login``; a terminal without its IPC link (fresh or restarted) is initialized first."""
        try:
            await terminal.login(account.login, password, account.server, self._switch_timeout_ms)
        except MT5Error as exc:
            if exc.code != NO_IPC:
                raise
            await terminal.call("initialize")
            await terminal.login(account.login, password, account.server, self._switch_timeout_ms)

    def _mark_dead(self, slot: Slot, exc: BaseException) -> None:
        if slot.healthy:
            log.warning("terminal %s taken out of rotation: %r", slot.name, exc)
        slot.healthy = False
        slot.last_error = f"{type(exc).__name__}: {exc}"
        self._scheduler.forget(slot)

    def _retry_after(self) -> int:
        sched = self._scheduler
        healthy = max(1, sum(s.healthy for s in sched.slots))
        accounts = len({r.target or r.server for r in sched.queue})
        work = len(sched.queue) * self._hold_cost_s + accounts * self._switch_cost_s
        return max(1, math.ceil(work / healthy))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._health_interval_s)
            await self.check_health()

    async def check_health(self) -> None:
        """Ping every idle terminal once (the health task does this every interval)."""
        idle = [s for s in self._scheduler.slots if not s.busy]
        for slot in idle:
            slot.busy = True  # no grants while pinging: a ping must not queue behind a session
        await asyncio.gather(*(self._ping(s) for s in idle))

    async def _ping(self, slot: Slot) -> None:
        try:
            info = await asyncio.wait_for(slot.terminal.terminal_info(), self._ping_timeout_s)
        except MT5Error as exc:  # it answered, so it is alive
            self._revive(slot)
            slot.last_error = str(exc)
        except Exception as exc:  # unreachable, timed out, broken connection
            self._mark_dead(slot, exc)
        else:
            self._revive(slot)
            slot.trade_allowed = bool(info.get("trade_allowed"))
        finally:
            slot.busy = False
            self._dispatch()

    def _revive(self, slot: Slot) -> None:
        if not slot.healthy:
            log.info("terminal %s answers again; back in rotation", slot.name)
            slot.healthy = True
            slot.last_error = None
            self._scheduler.forget(slot)


def _ewma(old: float, sample: float, weight: float = 0.3) -> float:
    return old + weight * (sample - old)
