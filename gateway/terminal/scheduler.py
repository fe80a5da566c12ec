"""Which waiting request gets which idle terminal: the pure decisions of the terminal pool.

No I/O and no clock of its own: ``TerminalPool`` owns the asyncio side (futures, timers, logins,
health checks) and asks :class:`Scheduler` what to do whenever something changes.

The rules, applied again and again until no idle terminal can take anything:

1. **Affinity.** An idle terminal first serves the oldest queued request it can serve without
   switching: one for the account it holds, or a market-data request for its broker server.
2. **Fairness.** While some *starving* request waits (one for an account that no other usable
   terminal holds, so nobody else will ever serve it), a terminal serves at most
   ``fairness_batch`` requests in a row for its account; then it switches to the oldest starving
   request instead.
3. **Switching.** An idle terminal with nothing of its own to do switches to the oldest starving
   request. Idle terminals are tried empty ones first, then least recently used first.
   A request whose account some other usable terminal holds (even a busy one) waits for that
   terminal, so its requests are served together instead of paying a second switch (batching).
   A terminal dedicated to one broker server (``only_server``) never switches to another.
4. **Linger.** When a terminal is released it stays reserved for its account for ``linger_s``
   (a few ms, much less than a switch), so a client that sends its next request right after the
   previous answer keeps its terminal instead of losing it to a switch.
5. **Round-robin between users.** Wherever a rule above has several requests to choose from, it
   takes the one of the user served least recently (a user never served comes first), and that
   user's oldest request. So one user's flood of queued requests is interleaved with everyone
   else's instead of being served ahead of them. (How many requests a user may have in the pool
   at all is the pool's business: ``user_shares.py``.)

A terminal is *usable* when it is healthy and *held*: with several gateway replicas a terminal
belongs to the one replica holding its lease (``gateway/replicas``); the others see it as not
held and never hand it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.terminal.port import TerminalPort

MAX_REMEMBERED_USERS = 1024  # past this, users with nothing queued lose their place in the turn


@dataclass(frozen=True, slots=True)
class AccountKey:
    """One MT5 account: a login on a broker server."""

    login: int
    server: str

    def __str__(self) -> str:
        return f"{self.login}@{self.server}"


@dataclass(eq=False)
class Slot:
    """The pool's view of one terminal."""

    terminal: TerminalPort
    holds: AccountKey | None = None  # the account logged in (or being logged in); None: unknown
    busy: bool = False
    healthy: bool = True
    last_used: float = 0.0
    switches: int = 0
    served: int = 0
    run: int = 0  # requests served in a row for `holds` while a starving request waited
    linger_until: float = 0.0
    trade_allowed: bool | None = None  # terminal_info().trade_allowed after the last switch/ping
    last_error: str | None = None
    only_server: str | None = None  # a terminal installed for one broker server switches only there
    held: bool = True  # this gateway may use the terminal (several replicas: it holds the lease)

    @property
    def name(self) -> str:
        return self.terminal.name

    @property
    def usable(self) -> bool:
        """In rotation: healthy and held."""
        return self.healthy and self.held


@dataclass(eq=False)
class Request:
    """A waiting request: for one account, or (``account`` None) for market data on a server."""

    seq: int
    server: str
    account: AccountKey | None = None
    fallback: AccountKey | None = None  # market data: the account to log in if nobody is on server
    user: str | None = None  # who asked (round-robin between users); None: the gateway itself
    waiter: Any = field(default=None, repr=False)  # the pool's future; opaque here

    @property
    def target(self) -> AccountKey | None:
        """The account to log in when this request needs a switch (None: it cannot switch)."""
        return self.account or self.fallback

    @property
    def wants(self) -> AccountKey | str:
        """What a terminal must hold to serve it unswitched: its account, or (market data) any
        account on its server."""
        return self.account if self.account is not None else self.server


@dataclass(frozen=True, slots=True)
class Grant:
    """A terminal handed to a request; ``switch_to`` is set when it must log in first."""

    slot: Slot
    switch_to: AccountKey | None


class Scheduler:
    """The queue and the terminals' scheduling state; every method is synchronous and O(small)."""

    def __init__(self, slots: list[Slot], *, fairness_batch: int, linger_s: float) -> None:
        if fairness_batch < 1:
            raise ValueError("fairness_batch must be >= 1")
        self.slots = slots
        self.queue: list[Request] = []  # ascending seq: oldest first
        self.fairness_batch = fairness_batch
        self.linger_s = linger_s
        self._turn = 0  # grants so far
        self._last_turn: dict[str | None, int] = {}  # user -> the grant that last served them

    # -- questions --------------------------------------------------------------------------

    @staticmethod
    def fits(slot: Slot, request: Request) -> bool:
        """True if ``slot`` can serve ``request`` without switching."""
        return slot.holds is not None and request.wants in (slot.holds, slot.holds.server)

    def _offered(self) -> set[AccountKey | str]:
        """What the usable terminals serve unswitched: the accounts they hold and their
        servers."""
        held = [s.holds for s in self.slots if s.usable and s.holds is not None]
        return {*held, *(a.server for a in held)}

    def covered(self, request: Request) -> bool:
        """True if a usable terminal will serve ``request`` unswitched."""
        return request.wants in self._offered()

    def uncovered(self) -> list[Request]:
        """Queued requests, oldest first, that no usable terminal serves unswitched but a
        switch could. Computed once per grant, in O(queue + terminals): asking ``covered``
        per (idle terminal, request) cost O(terminals² × queue) per grant, which made 16
        terminals slower than one."""
        offered = self._offered()
        return [r for r in self.queue if r.target is not None and r.wants not in offered]

    @staticmethod
    def starving(slot: Slot, uncovered: list[Request]) -> Iterator[Request]:
        """Of ``uncovered``, the requests the usable ``slot`` could switch to. (It fits none of
        them: no usable terminal does.)"""
        for request in uncovered:
            assert request.target is not None
            if slot.only_server in (None, request.target.server):
                yield request

    def waiting_for(self, slot: Slot) -> int:
        """How many queued requests ``slot`` could serve without switching."""
        return sum(1 for r in self.queue if self.fits(slot, r))

    def next_in_turn(self, requests: Iterable[Request]) -> Request | None:
        """Of ``requests`` (oldest first), the oldest one of the user served least recently."""
        best: Request | None = None
        best_turn = 0
        for request in requests:
            turn = self._last_turn.get(request.user, 0)
            if best is None or turn < best_turn:
                best, best_turn = request, turn
        return best

    # -- decisions --------------------------------------------------------------------------

    def choose(
        self, slot: Slot, now: float, uncovered: list[Request]
    ) -> tuple[Request, Grant] | None:
        """What the idle, usable ``slot`` should do next, or None to stay idle."""
        own = self.next_in_turn(r for r in self.queue if self.fits(slot, r))
        if slot.linger_until > now:
            return (own, Grant(slot, None)) if own else None
        other = self.next_in_turn(self.starving(slot, uncovered))
        if own is not None and (other is None or slot.run < self.fairness_batch):
            return own, Grant(slot, None)
        if other is not None:
            return other, Grant(slot, other.target)
        return None

    def assign(self, now: float) -> list[tuple[Request, Grant]]:
        """Hand idle terminals to waiting requests; marks them busy and dequeues the requests."""
        grants: list[tuple[Request, Grant]] = []
        while self.queue:
            idle = [s for s in self.slots if s.usable and not s.busy]
            if not idle:
                return grants
            idle.sort(key=lambda s: (s.holds is not None, s.last_used))
            uncovered = self.uncovered()
            picked = next(filter(None, (self.choose(s, now, uncovered) for s in idle)), None)
            if picked is None:
                return grants
            self._take(*picked)
            grants.append(picked)
        return grants

    def _take(self, request: Request, grant: Grant) -> None:
        slot = grant.slot
        if grant.switch_to is not None:
            slot.holds = grant.switch_to
            slot.run = 0
        self.queue.remove(request)
        self._turn += 1
        self._last_turn[request.user] = self._turn
        if len(self._last_turn) > MAX_REMEMBERED_USERS:  # forget users with nothing queued
            waiting = {r.user for r in self.queue}
            self._last_turn = {u: t for u, t in self._last_turn.items() if u in waiting}
        others_starve = next(self.starving(slot, self.uncovered()), None) is not None
        slot.run = slot.run + 1 if others_starve else 0
        slot.busy = True
        slot.linger_until = 0.0

    def release(self, slot: Slot, now: float) -> None:
        """A request is done with ``slot``: it lingers for its account unless its turn is over."""
        slot.busy = False
        slot.last_used = now
        if slot.usable and slot.holds is not None and slot.run < self.fairness_batch:
            slot.linger_until = now + self.linger_s

    def forget(self, slot: Slot) -> None:
        """``slot``'s logged-in account is unknown from now on (failed login, dead terminal)."""
        slot.holds = None
        slot.run = 0
        slot.linger_until = 0.0
