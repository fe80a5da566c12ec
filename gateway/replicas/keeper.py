"""The lease keeper: renews this replica's terminal leases, takes free ones, gives extra ones up.

Every ``renew_every_s`` (a third of the TTL), or at once when woken (another replica's leases
changed), two statements:

1. one marks this replica alive (``gateway_replicas``) and renews the leases it holds;
2. one reads the board (every lease, the live replicas).

A switch writes its account to the lease row before the login (:meth:`LeaseKeeper.announce`)
and tells the other replicas, so they forward that account's requests here.

Then it balances (and if another replica's lease expires before the next round, the next round
comes right after that expiry): with ``n`` terminals and ``r`` live replicas each replica wants
``ceil(n / r)``. It takes free or expired leases up to that (the pool puts them into rotation),
and gives up the ones beyond it: *drained* first (no new work; the session using the terminal
finishes), then released in the store, free at once for the others. When some replica holds
fewer than ``floor(n / r)``, the replica holding the most (the smallest id on a tie) gives one
up, so a replica that joins late gets its share. Every change is announced with ``NOTIFY`` so
the others re-read the board at once.

A lease that was not renewed is lost: the terminal leaves the rotation here. If renewing keeps
failing (the store unreachable, or this process starved of CPU), every terminal leaves the
rotation when the last successful renewal is ``TTL - TTL/3`` old, a third of the TTL before
another replica may take them: a session granted just before has that long to finish. A later
renewal that finds the leases still ours (nobody took them) puts them back into rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.replicas import leases
from gateway.replicas.leases import LEASES_CHANNEL, Board
from gateway.terminal.holding import Holdings, Remote
from gateway.terminal.scheduler import AccountKey

log = logging.getLogger("gateway.replicas")

MIN_WAKE_SPACING_S = 0.05  # wake-ups (NOTIFY, switches) coalesce into at most this many ticks
DRAIN_STEP_S = 0.5  # how long one tick waits for a released terminal to finish its session
EXPIRY_SLACK_S = 0.02  # wake this long after a lease's expiry (clocks: the database's)
DEAD_ROWS_KEPT_S = 3600.0  # a dead replica's row stays this long (its orphans are resumed)
ASK_TIMEOUT_S = 1.0  # a request waits at most this for the store's word on residency


class LeaseKeeper:
    def __init__(
        self,
        engine: AsyncEngine,
        holdings: Holdings,
        *,
        replica_id: str,
        address: str | None,
        ttl_s: float,
        on_board: Callable[[Board], None] = lambda board: None,
    ) -> None:
        self._engine = engine
        self._holdings = holdings
        self.me = replica_id
        self._address = address
        self._ttl_s = ttl_s
        self._period_s = ttl_s / 3
        self.on_board = on_board
        self._terminals = {n: holdings.only_server(n) for n in holdings.names}
        self._releasing: set[str] = set()  # drained before their lease is given up
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._renewed_at = -math.inf  # monotonic time the last successful renewal was sent
        self._guard: asyncio.TimerHandle | None = None
        self.board = Board(now=leases.EPOCH)
        self.ticks = 0
        self.acquired = 0  # leases taken since start
        self.lost = 0  # leases found taken or expired
        holdings.retry_s = max(1, math.ceil(self._period_s))
        holdings.announce = self.announce
        holdings.on_switch(self._switched)
        self._clearing: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Make the lease rows, take a first share, then keep going in the background."""
        async with self._engine.begin() as conn:
            await leases.ensure(conn, self._terminals)
        await self.tick()
        self._task = asyncio.create_task(self._loop(), name="replica-leases")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Stop renewing; drain every terminal (up to ``drain_s``) and free all leases."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._guard is not None:
            self._guard.cancel()
        held = self._holdings.held()
        for name in held:
            self._holdings.release(name)
        for name in held + sorted(self._releasing):
            await self._holdings.drained(name, drain_s)
        with contextlib.suppress(Exception):
            async with self._engine.begin() as conn:
                await leases.leave(conn, self.me)
                await leases.notify(conn, LEASES_CHANNEL, self.me)

    def wake(self) -> None:
        self._wake.set()

    def held_terminals(self) -> list[str]:
        return self._holdings.held()

    # -- residency, asked for by a request ------------------------------------------------------

    async def announce(self, terminal: str, account: AccountKey) -> None:
        """Before ``terminal`` logs into ``account``: write it to the lease row and tell the
        others (one short transaction; a failure only delays it to the next renewal)."""
        try:
            await asyncio.wait_for(self._announce(terminal, account), ASK_TIMEOUT_S)
        except Exception as exc:
            log.info("announcing the account of terminal %s: %s", terminal, type(exc).__name__)

    async def _announce(self, terminal: str, account: AccountKey | None) -> None:
        name, server = (str(account), account.server) if account is not None else (None, None)
        async with self._engine.begin() as conn:
            if await leases.announce(conn, self.me, terminal, name, server):
                await leases.notify(conn, LEASES_CHANNEL, self.me)

    def _switched(self, terminal: str, account: AccountKey | None) -> None:
        """After a switch: if it failed (account unknown), the row stops naming the account."""
        if account is None and self._holdings.is_held(terminal):
            task = asyncio.get_running_loop().create_task(self._clear(terminal))
            self._clearing.add(task)
            task.add_done_callback(self._clearing.discard)

    async def _clear(self, terminal: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._announce(terminal, None), ASK_TIMEOUT_S)

    async def lookup(self, account: str) -> Remote | None:
        """The live replica whose terminal holds ``account``, read from the store now (None
        also when the store does not answer within ``ASK_TIMEOUT_S``: served here then)."""
        try:
            found = await asyncio.wait_for(self._resident_elsewhere(account), ASK_TIMEOUT_S)
        except Exception as exc:
            log.info("looking up where an account is: %s", type(exc).__name__)
            return None
        return Remote(*found) if found is not None else None

    async def _resident_elsewhere(self, account: str) -> tuple[str, str] | None:
        async with self._engine.connect() as conn:
            return await leases.resident(conn, self.me, account)

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._period_s)
            await asyncio.sleep(MIN_WAKE_SPACING_S)
            self._wake.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is unreachable: the guard takes over
                log.warning("renewing terminal leases failed: %s", type(exc).__name__)

    # -- one round ------------------------------------------------------------------------------

    async def tick(self) -> None:
        holdings = self._holdings
        mine = set(holdings.held()) | self._releasing
        sent = time.monotonic()
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            renewed = await leases.renew_round(conn, self.me, self._address, self._ttl_s)
            board = await leases.board(conn)
        took = time.monotonic() - sent
        if took > self._period_s / 2:
            log.warning(
                "renewing terminal leases took %.2f s (renewed every %.2f s)", took, self._period_s
            )
        self.ticks += 1
        self._renewed(sent)
        for name in sorted(mine - renewed):
            log.warning("terminal %s: lease lost; out of rotation here", name)
            self.lost += 1
            holdings.release(name)
            self._releasing.discard(name)
        for name in sorted(renewed - mine):  # the guard took it out, but it was still ours
            log.info("terminal %s: lease renewed late; back in rotation", name)
            holdings.hold(name)
        changed = mine != renewed
        changed |= await self._finish_releases()
        changed |= await self._balance(board)
        if changed:
            async with self._engine.begin() as conn:
                await leases.notify(conn, LEASES_CHANNEL, self.me)
                board = await leases.board(conn)
                if self.ticks % 100 == 1:
                    await leases.forget_dead(conn, DEAD_ROWS_KEPT_S)
        self.board = board
        self.on_board(board)
        self._wake_at_expiry(board)

    def _wake_at_expiry(self, board: Board) -> None:
        """If another replica's lease expires before the next round, wake just after it: the
        terminal of a replica that stopped renewing returns to rotation at once."""
        expiry = board.next_expiry_s(self.me)
        if expiry is not None and expiry < self._period_s:
            asyncio.get_running_loop().call_later(max(0.0, expiry) + EXPIRY_SLACK_S, self.wake)

    def _renewed(self, sent: float) -> None:
        """Arm the guard: without another renewal, every terminal leaves at TTL - TTL/3."""
        self._renewed_at = sent
        if self._guard is not None:
            self._guard.cancel()
        delay = sent + self._ttl_s - self._period_s - time.monotonic()
        self._guard = asyncio.get_running_loop().call_later(max(0.0, delay), self._expire)

    def _expire(self) -> None:
        held = self._holdings.held()
        if held:
            log.warning("leases not renewed in time; %d terminal(s) out of rotation", len(held))
        for name in held:
            self._holdings.release(name)

    async def _finish_releases(self) -> bool:
        """Give up the leases of released terminals whose session has ended."""
        done = [n for n in sorted(self._releasing) if not self._holdings.busy(n)]
        if not done:
            return False
        async with self._engine.begin() as conn:
            await leases.release(conn, self.me, done)
        self._releasing.difference_update(done)
        log.info("released terminal lease(s): %s", ", ".join(done))
        return True

    async def _balance(self, board: Board) -> bool:
        holdings = self._holdings
        names = list(self._terminals)
        live = set(board.replicas) | {self.me}
        held = [n for n in holdings.held() if n not in self._releasing]
        high = math.ceil(len(names) / len(live))
        low = len(names) // len(live)
        if len(held) < high:
            wanted = board.free(names)[: high - len(held)]
            if not wanted:
                return False
            async with self._engine.begin() as conn:
                taken = await leases.acquire(conn, self.me, wanted, self._ttl_s)
            for name in taken:
                holdings.hold(name)
            self.acquired += len(taken)
            if taken:
                log.info("took terminal lease(s): %s", ", ".join(taken))
            return bool(taken)
        extra = len(held) - high
        if extra <= 0 and len(held) > low and self._donor(board, live, low):
            extra = 1
        if extra <= 0:
            return False
        for name in self._pick_releases(held, extra):
            holdings.release(name)
            self._releasing.add(name)
            await holdings.drained(name, DRAIN_STEP_S)
        return await self._finish_releases() or True

    def _donor(self, board: Board, live: set[str], low: int) -> bool:
        """Some live replica holds fewer than ``low``, and this one should give it one."""
        counts = {r: len(board.held_by(r)) for r in live}
        counts[self.me] = len(self._holdings.held())
        if all(counts[r] >= low for r in live):
            return False
        donor = max(sorted(live), key=lambda r: counts[r])
        return donor == self.me

    def _pick_releases(self, held: list[str], count: int) -> list[str]:
        """Idle terminals with no account first, then idle ones, then the rest (last first)."""
        holdings = self._holdings

        def cost(name: str) -> tuple[bool, bool]:
            return holdings.busy(name), holdings.account_of(name) is not None

        return sorted(reversed(held), key=cost)[:count]
