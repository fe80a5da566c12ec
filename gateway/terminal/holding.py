"""Which pool terminals this gateway may use, and where a request is better served.

One gateway process holds all of its terminals (the default). Several replicas sharing the same
terminals hold each one by a lease in the store (``gateway/replicas``), and the pool sees the
result here:

- :meth:`Holdings.hold` puts a terminal (newly leased) into rotation. Its logged-in account is
  unknown: the first request for an account logs it in, as after a restart.
- :meth:`Holdings.release` takes it out: no new work is handed to it, the session using it (if
  any) finishes, and :meth:`Holdings.drained` waits for that. Its account is forgotten, since the
  next holder may switch it.
- A switch is announced before the login (:attr:`Holdings.announce`, awaited) and reported
  after it (:meth:`Holdings.on_switch`), so the lease tells the other replicas at once which
  account each terminal holds.

A :class:`Placement` (set by the replicas' code) is asked before a request queues: it answers
the :class:`Remote` replica that should serve the request instead (its terminal already holds
the account, or it holds a terminal for that server and this one does not), or None to serve
it here. The pool then raises ``ServedElsewhere``; the HTTP layer forwards the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.terminal.scheduler import AccountKey, Request, Scheduler, Slot

DRAIN_POLL_S = 0.01

SwitchListener = Callable[[str, AccountKey | None], None]
"""Called with a terminal's name and the account it holds after a switch (None: unknown)."""
Announce = Callable[[str, AccountKey], Awaitable[None]]
"""Awaited with a terminal's name and the account it is about to log into; never raises."""


@dataclass(frozen=True)
class Remote:
    """Another gateway replica, as other replicas reach it."""

    replica: str
    address: str


class Placement(Protocol):
    def holds(self, account: AccountKey) -> bool:
        """Whether another replica's terminal holds ``account`` (as last seen)."""
        ...

    async def elsewhere(
        self, account: AccountKey | None, server: str, *, resident: bool, able: bool
    ) -> Remote | None:
        """The replica that should serve a request for ``account`` (None: market data) on
        ``server``, or None to serve it here. ``resident``: a terminal held here already holds
        it; ``able``: a terminal held here may log into ``server``."""
        ...


class Holdings:
    """The held/not-held state of the pool's terminals; ``on_change`` re-runs its dispatch."""

    def __init__(self, scheduler: Scheduler, on_change: Callable[[], None]) -> None:
        self._scheduler = scheduler
        self._on_change = on_change
        self._listeners: list[SwitchListener] = []
        self.placement: Placement | None = None
        self.announce: Announce | None = None
        self.retry_s = 1  # Retry-After while no terminal is held (the leases' renewal period)

    def _slot(self, name: str) -> Slot:
        for slot in self._scheduler.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Every terminal of the pool, held or not, in configuration order."""
        return [s.name for s in self._scheduler.slots]

    def held(self) -> list[str]:
        return [s.name for s in self._scheduler.slots if s.held]

    def is_held(self, name: str) -> bool:
        return self._slot(name).held

    def account_of(self, name: str) -> AccountKey | None:
        """The account a held terminal is logged into (None: unknown, or not held)."""
        slot = self._slot(name)
        return slot.holds if slot.held else None

    def only_server(self, name: str) -> str | None:
        return self._slot(name).only_server

    def hold(self, name: str) -> None:
        """``name`` joins the rotation (its account unknown until a request logs it in)."""
        slot = self._slot(name)
        if slot.held:
            return
        self._scheduler.forget(slot)
        slot.held = True
        slot.healthy = True  # checked by the next ping or call, like a terminal back from an outage
        slot.last_error = None
        self._on_change()

    def release(self, name: str) -> None:
        """``name`` gets no new work; a session using it finishes (see :meth:`drained`)."""
        slot = self._slot(name)
        if not slot.held:
            return
        slot.held = False
        self._scheduler.forget(slot)
        self._on_change()  # requests that waited for its account may switch another terminal

    def busy(self, name: str) -> bool:
        return self._slot(name).busy

    async def drained(self, name: str, timeout_s: float) -> bool:
        """Wait until the released ``name`` is no longer in use; False if ``timeout_s`` passed."""
        slot = self._slot(name)
        deadline = time.monotonic() + timeout_s
        while slot.busy:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(DRAIN_POLL_S)
        return True

    # -- switches -------------------------------------------------------------------------------

    def on_switch(self, listener: SwitchListener) -> None:
        self._listeners.append(listener)

    async def switching(self, slot: Slot, account: AccountKey) -> None:
        if self.announce is not None and slot.held:
            await self.announce(slot.name, account)

    def switched(self, slot: Slot) -> None:
        account = slot.holds if slot.held else None
        for listener in self._listeners:
            listener(slot.name, account)

    # -- placement ------------------------------------------------------------------------------

    def resident_elsewhere(self, account: AccountKey) -> bool:
        """Another replica's terminal holds ``account`` (per the placement; False alone)."""
        return self.placement is not None and self.placement.holds(account)

    async def elsewhere(self, request: Request) -> Remote | None:
        """Where ``request`` is better served, per the placement (None: here)."""
        placement = self.placement
        if placement is None:
            return None
        slots = self._scheduler.slots
        resident = any(s.usable and Scheduler.fits(s, request) for s in slots)
        able = any(s.usable and s.only_server in (None, request.server) for s in slots)
        return await placement.elsewhere(
            request.account, request.server, resident=resident, able=able
        )
