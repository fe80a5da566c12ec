"""PostgreSQL ``LISTEN`` on one dedicated connection, dispatching notifications by channel.

asyncpg's ``add_listener`` calls a handler for each ``NOTIFY`` on the channel; the connection is
checked out of the replicas' own small engine for as long as it listens. A lost connection
(noticed by asyncpg's termination callback, or by a ``SELECT 1`` every ``check_every_s``) is
replaced with backoff; the ``on_reconnect`` callbacks then run, because notifications sent
meanwhile are gone: readers catch up from the store (the events themselves are stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gateway.replicas")

Handler = Callable[[str], None]
CHECK_TIMEOUT_S = 5.0
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class Listener:
    def __init__(self, engine: AsyncEngine, *, check_every_s: float = 5.0) -> None:
        self._engine = engine
        self._check_every_s = check_every_s
        self._handlers: dict[str, list[Handler]] = {}
        self._reconnected: list[Callable[[], None]] = []
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.received = 0
        self.reconnects = 0

    def on(self, channel: str, handler: Handler) -> None:
        """Call ``handler(payload)`` for each notification on ``channel`` (before start)."""
        self._handlers.setdefault(channel, []).append(handler)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        self._reconnected.append(callback)

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name="replica-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()

    async def _connect(self) -> None:
        conn = await self._engine.connect()
        try:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            for channel in self._handlers:
                await driver.add_listener(channel, self._dispatch)
            driver.add_termination_listener(lambda _conn: self._lost.set())
        except BaseException:
            await conn.close()
            raise
        self._conn, self._driver = conn, driver
        self._lost.clear()

    async def _disconnect(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self.received += 1
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:
                log.exception("notification handler for %s failed", channel)

    async def _supervise(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self._check_every_s)
            if not self._lost.is_set() and await self._alive():
                continue
            log.warning("notification connection lost; reconnecting")
            await self._disconnect()
            for attempt in range(1_000_000):
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                try:
                    await self._connect()
                    break
                except Exception as exc:
                    log.info("notification connection: %s", type(exc).__name__)
            self.reconnects += 1
            for callback in self._reconnected:
                callback()

    async def _alive(self) -> bool:
        try:
            await asyncio.wait_for(self._driver.execute("SELECT 1"), CHECK_TIMEOUT_S)
        except Exception:
            return False
        return True
