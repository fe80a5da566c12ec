"""Accounts followed on one replica and resident on another: the other one watches them.

A replica's watcher polls an account only on a terminal that replica holds. A client of
replica A following account X while X is logged in on a terminal of replica B would see no
events, because nobody on B follows X. So every ``every_s`` each replica announces the accounts
its hub watches (``NOTIFY mt5gw_watch``, ids only), and a replica whose held terminal holds one
of them watches it too, for as long as the announcements keep coming (three periods). Its
watcher stores the events, and :class:`~gateway.replicas.bus.ReplicaBus` brings them to A.

The account's id is enough: the store says which login and server it is (or, for ``default``,
the configured account), and its password is read only if a watcher visits it (never here:
a remote watch polls only where the account is already logged in).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.accounts.context import pool_key
from gateway.db import session_scope
from gateway.events.watcher import NotResident, WatchTarget
from gateway.replicas.leases import notify
from gateway.replicas.listener import Listener
from gateway.store.models import Mt5Account
from gateway.terminal.pool import AccountKey, TerminalPool

log = logging.getLogger("gateway.replicas")

WATCH_CHANNEL = "mt5gw_watch"
MAX_IDS = 150  # per notification: 150 ids of 36 characters stay under the payload limit
DEFAULT_ACCOUNT_ID = "default"


class Watching(Protocol):
    """What this needs of the stream hub."""

    watchers: dict[str, Any]
    bus: Any

    async def watch(self, target: WatchTarget) -> Any: ...
    def unwatch(self, account_id: str) -> None: ...


def _refuse() -> str:
    raise NotResident()  # a remote watch never logs a terminal in


class Interest:
    def __init__(
        self,
        me: str,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        listener: Listener,
        pool: TerminalPool,
        *,
        default_key: AccountKey | None,
        every_s: float = 2.0,
    ) -> None:
        self.me = me
        self._engine = engine
        self._sessions = sessions
        self._pool = pool
        self._default_key = default_key
        self._every_s = every_s
        self._hub: Watching | None = None
        self._remote: dict[str, float] = {}  # account id -> watched until (monotonic)
        self._heard: dict[str, float] = {}  # account id -> announced by others until
        self._keys: dict[str, AccountKey | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        listener.on(WATCH_CHANNEL, self._on_watch)

    @property
    def remote(self) -> set[str]:
        """Accounts watched here for another replica's clients."""
        return set(self._remote)

    async def start(self, hub: Watching) -> None:
        self._hub = hub
        self._task = asyncio.create_task(self._loop(), name="replica-interest")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    # -- announcing -----------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._announce()
            self._expire()
            await asyncio.sleep(self._every_s)

    async def _announce(self) -> None:
        hub = self._hub
        if hub is None:
            return
        ids = sorted(a for a in hub.watchers if a not in self._remote)
        for start in range(0, len(ids), MAX_IDS):
            payload = json.dumps({"r": self.me, "a": ids[start : start + MAX_IDS]})
            async with self._engine.begin() as conn:
                await notify(conn, WATCH_CHANNEL, payload)

    def _expire(self) -> None:
        now = time.monotonic()
        for account_id, until in list(self._heard.items()):
            if until <= now:
                del self._heard[account_id]
        for account_id, until in list(self._remote.items()):
            if until <= now or not self._resident(account_id):
                del self._remote[account_id]
                if self._hub is not None:
                    self._hub.unwatch(account_id)

    # -- answering ------------------------------------------------------------------------------

    def _on_watch(self, payload: str) -> None:
        message = json.loads(payload)
        if message.get("r") == self.me or self._hub is None:
            return
        now = time.monotonic()
        until = now + 3 * self._every_s
        for account_id in message.get("a", []):
            account_id = str(account_id)
            new = self._heard.get(account_id, 0.0) <= now
            self._heard[account_id] = until
            if account_id in self._remote:
                self._remote[account_id] = until
            elif account_id not in self._hub.watchers:
                self._spawn(self._consider(account_id, until))
            elif new:  # its own watcher is here: repeat its state for the new followers
                self._spawn(self._repeat(account_id))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _repeat(self, account_id: str) -> None:
        """Publish again the conflated state (status, figures) of a watcher here: they are
        published on change, and followers elsewhere arrived after the last change."""
        hub = self._hub
        watched = hub.watchers.get(account_id) if hub is not None else None
        watcher = getattr(watched, "watcher", None)
        if hub is None or watcher is None:
            return
        for kind, notice in (("status", watcher.status), ("account", watcher.figures)):
            if notice is not None:
                with contextlib.suppress(Exception):
                    await hub.bus.publish(f"{kind}/{account_id}", notice)

    async def _consider(self, account_id: str, until: float) -> None:
        """Watch ``account_id`` here if a terminal held here holds it."""
        try:
            if account_id not in self._keys:
                self._keys[account_id] = await self._key_of(account_id)
            key = self._keys[account_id]
            hub = self._hub
            if key is None or hub is None or account_id in self._remote:
                return
            if not self._resident(account_id):
                return
            self._remote[account_id] = until
            await hub.watch(WatchTarget(account_id, key, _refuse))
        except Exception as exc:
            self._remote.pop(account_id, None)
            log.info("watching account %s for another replica: %s", account_id, type(exc).__name__)

    def _resident(self, account_id: str) -> bool:
        key = self._keys.get(account_id)
        if key is None:
            return False
        return any(
            t.held and t.healthy and t.login == key.login and t.server == key.server
            for t in self._pool.snapshot().terminals
        )

    async def _key_of(self, account_id: str) -> AccountKey | None:
        if account_id == DEFAULT_ACCOUNT_ID:
            return self._default_key
        async with session_scope(self._sessions) as session:
            row = await session.get(Mt5Account, account_id)
        if row is None:
            return None
        return pool_key(row.login, row.server, row.is_investor)
