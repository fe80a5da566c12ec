"""The hub: one market poller per broker server and one watcher per followed account, shared
by every connection (and by webhooks), started on first use and stopped when nobody follows.

Connections never poll. They lease what they need (``follow_market``/``watch``), subscribe to
the bus topics the pollers publish on, and give the lease back when they unsubscribe or go. A
watcher lingers ``stream_watch_linger_s`` after its last reader, so a client that reconnects
does not make the account's state be read from scratch. Per-user counters for the limits live
here too, since they span a user's connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.events import store
from gateway.events.bus import Bus, InProcessBus
from gateway.events.watcher import AccountWatcher, Sink, WatchConfig, WatchTarget
from gateway.store.models import utcnow
from gateway.stream.market import BarKey, MarketPoller
from gateway.stream.settings import StreamSettings
from gateway.terminal.pool import TerminalPool
from gateway.terminal.servertime import ServerClocks

log = logging.getLogger("gateway.stream")

PRUNE_EVERY_S = 600.0  # at most; a short retention prunes more often


@dataclass
class _Watched:
    watcher: AccountWatcher
    task: asyncio.Task[None]
    refs: int = 0
    linger: asyncio.TimerHandle | None = None


@dataclass
class UserUsage:
    connections: int = 0
    symbols: Counter[tuple[str, str]] = field(default_factory=Counter)


class Hub:
    def __init__(
        self,
        *,
        pool: TerminalPool,
        sessions: async_sessionmaker[AsyncSession],
        clocks: ServerClocks,
        settings: StreamSettings,
        bus: Bus | None = None,
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.pool, self.sessions, self.clocks = pool, sessions, clocks
        self.settings = settings
        self.bus: Bus = bus or InProcessBus()
        self.sinks = list(sinks)
        self.pollers: dict[str, tuple[MarketPoller, asyncio.Task[None]]] = {}
        self.watchers: dict[str, _Watched] = {}
        self.users: dict[str, UserUsage] = {}
        self.connections = 0
        self.overflows = 0
        self._starting: dict[str, asyncio.Future[_Watched]] = {}
        self._pruner: asyncio.Task[None] | None = None
        self._watch_config = WatchConfig(
            interval_s=settings.stream_account_interval_s,
            away_poll_s=settings.stream_away_poll_s,
        )

    async def start(self) -> None:
        self._pruner = asyncio.create_task(self._prune_loop(), name="events-prune")

    async def close(self) -> None:
        tasks = [t for _, t in self.pollers.values()] + [w.task for w in self.watchers.values()]
        if self._pruner is not None:
            tasks.append(self._pruner)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.pollers.clear()
        self.watchers.clear()

    # -- market data ----------------------------------------------------------------------------

    def poller(self, server: str) -> MarketPoller:
        entry = self.pollers.get(server)
        if entry is None:
            poller = MarketPoller(
                server,
                pool=self.pool,
                clocks=self.clocks,
                bus=self.bus,
                interval_s=self.settings.stream_quote_interval_s,
            )
            task = asyncio.create_task(poller.run(), name=f"market-{server}")
            entry = self.pollers[server] = (poller, task)
        return entry[0]

    def follow_market(self, server: str, symbols: list[str], bars: list[BarKey]) -> None:
        self.poller(server).follow(symbols, bars)

    def unfollow_market(self, server: str, symbols: list[str], bars: list[BarKey]) -> None:
        entry = self.pollers.get(server)
        if entry is not None:
            entry[0].unfollow(symbols, bars)

    # -- accounts -------------------------------------------------------------------------------

    async def watch(self, target: WatchTarget) -> AccountWatcher:
        """The account's watcher (started and loaded if new); pair with :meth:`unwatch`."""
        account_id = target.account_id
        watched = self.watchers.get(account_id)
        if watched is None:
            pending = self._starting.get(account_id)
            if pending is not None:
                watched = await asyncio.shield(pending)
            else:
                watched = await self._start_watcher(target)
        watched.refs += 1
        if watched.linger is not None:
            watched.linger.cancel()
            watched.linger = None
        return watched.watcher

    async def _start_watcher(self, target: WatchTarget) -> _Watched:
        future: asyncio.Future[_Watched] = asyncio.get_running_loop().create_future()
        self._starting[target.account_id] = future
        try:
            watcher = AccountWatcher(
                target,
                pool=self.pool,
                sessions=self.sessions,
                clocks=self.clocks,
                bus=self.bus,
                sinks=self.sinks,
                config=self._watch_config,
            )
            await watcher.load()
            name = f"watch-{target.account_id}"
            task = asyncio.create_task(watcher.run(), name=name)
            watched = self.watchers[target.account_id] = _Watched(watcher, task)
            future.set_result(watched)
            return watched
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it through shield
            raise
        finally:
            del self._starting[target.account_id]

    def unwatch(self, account_id: str) -> None:
        watched = self.watchers.get(account_id)
        if watched is None:
            return
        watched.refs -= 1
        if watched.refs <= 0 and watched.linger is None:
            loop = asyncio.get_running_loop()
            delay = self.settings.stream_watch_linger_s
            watched.linger = loop.call_later(delay, self._stop_watcher, account_id)

    def _stop_watcher(self, account_id: str) -> None:
        watched = self.watchers.get(account_id)
        if watched is not None and watched.refs <= 0:
            del self.watchers[account_id]
            watched.task.cancel()

    # -- users ----------------------------------------------------------------------------------

    def usage(self, user_id: str) -> UserUsage:
        return self.users.setdefault(user_id, UserUsage())

    def release_user(self, user_id: str) -> None:
        usage = self.users.get(user_id)
        if usage is not None and usage.connections <= 0 and not +usage.symbols:
            del self.users[user_id]

    # -- retention ------------------------------------------------------------------------------

    async def prune(self) -> int:
        before = utcnow() - timedelta(seconds=self.settings.stream_event_retention_s)
        async with session_scope(self.sessions) as session:
            return await store.prune(session, before)

    async def _prune_loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                removed = await self.prune()
                if removed:
                    log.info("pruned %d events past retention", removed)
            retention = self.settings.stream_event_retention_s
            await asyncio.sleep(max(1.0, min(PRUNE_EVERY_S, retention / 24)))
