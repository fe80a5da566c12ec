"""Which pool terminals are in rotation: a background ping of idle terminals, and the verdicts
of the sessions themselves.

Every ``interval_s`` each idle terminal gets one ``terminal_info()`` within ``ping_timeout_s``
(it is marked busy meanwhile, so a ping never queues behind a session). An unreachable or hung
terminal, whether a ping or a session's call found it out, leaves the rotation and the pool
forgets its account; it comes back when it answers a ping again (an MT5 error is an answer).
A terminal this gateway does not hold (another replica leases it) is never pinged: a ping is a
call like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway.terminal.errors import MT5Error, TerminalTimeout, TerminalUnreachable
from gateway.terminal.scheduler import Scheduler, Slot

log = logging.getLogger("gateway.terminal.pool")

DEAD = (TerminalUnreachable, TerminalTimeout)  # a session error that takes a terminal out


class HealthChecks:
    """Pings and the in/out-of-rotation bookkeeping; ``on_change`` re-runs the pool's dispatch."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        interval_s: float,
        ping_timeout_s: float,
        on_change: Callable[[], None],
    ) -> None:
        self._scheduler = scheduler
        self.interval_s = interval_s
        self._ping_timeout_s = ping_timeout_s
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="pool-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def check(self) -> None:
        """Ping every idle terminal this gateway holds once."""
        idle = [s for s in self._scheduler.slots if s.held and not s.busy]
        for slot in idle:
            slot.busy = True  # no grants while pinging: a ping must not queue behind a session
        await asyncio.gather(*(self._ping(s) for s in idle))

    def mark_dead(self, slot: Slot, exc: BaseException) -> None:
        if slot.healthy:
            log.warning("terminal %s taken out of rotation: %r", slot.name, exc)
        slot.healthy = False
        slot.last_error = f"{type(exc).__name__}: {exc}"
        self._scheduler.forget(slot)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def _ping(self, slot: Slot) -> None:
        try:
            info = await asyncio.wait_for(slot.terminal.terminal_info(), self._ping_timeout_s)
        except MT5Error as exc:  # it answered, so it is alive
            self._revive(slot)
            slot.last_error = str(exc)
        except Exception as exc:  # unreachable, timed out, broken connection
            self.mark_dead(slot, exc)
        else:
            self._revive(slot)
            slot.trade_allowed = bool(info.get("trade_allowed"))
        finally:
            slot.busy = False
            self._on_change()

    def _revive(self, slot: Slot) -> None:
        if not slot.healthy:
            log.info("terminal %s answers again; back in rotation", slot.name)
            slot.healthy = True
            slot.last_error = None
            self._scheduler.forget(slot)
