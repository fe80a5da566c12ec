"""The event bus of a replica: the in-process bus, plus ``NOTIFY`` to the other replicas.

Events are stored once, by the replica whose terminal holds the account (its watcher), in the
transaction that numbers them. :meth:`ReplicaBus.publish` hands them to this replica's
subscribers as before and sends one ``NOTIFY mt5gw_events`` carrying only the account and the
range of ``seq`` (a few dozen bytes, far under PostgreSQL's 8000-byte payload limit). Another
replica with subscribers to that account reads those events from the store and hands them to
its own subscribers, who follow ``seq``: one they have seen is skipped, a gap is read from the
store. A notification lost while the listening connection was down is made up on reconnect:
each account with local subscribers is read from the store after the last ``seq`` delivered.

Conflated state (``account`` figures, ``status``) travels in the notification itself (small
JSON). Quotes and bars do not travel: each replica polls what its own clients follow.
Notifications a replica sent itself are ignored (each carries the sender's id).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.events import store
from gateway.events.bus import Handler, InProcessBus, Notice, Unsubscribe
from gateway.events.schema import Event
from gateway.replicas.listener import Listener

log = logging.getLogger("gateway.replicas")

EVENTS_CHANNEL = "mt5gw_events"
STATE_CHANNEL = "mt5gw_state"
STATE_KINDS = ("account", "status")
MAX_PAYLOAD = 7000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
PAGE = 500


class ReplicaBus:
    """A ``Bus`` (publish/subscribe/listeners) shared by the replicas through PostgreSQL."""

    def __init__(
        self,
        me: str,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        listener: Listener,
    ) -> None:
        self.me = me
        self.local = InProcessBus()
        self._engine = engine
        self._sessions = sessions
        self._last: dict[str, int] = {}  # account -> highest seq handed to local subscribers
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.received = 0
        listener.on(EVENTS_CHANNEL, self._on_events)
        listener.on(STATE_CHANNEL, self._on_state)
        listener.on_reconnect(self._catch_up)

    # -- the Bus interface ------------------------------------------------------------------

    def subscribe(self, topic: str, handler: Handler) -> Unsubscribe:
        return self.local.subscribe(topic, handler)

    def listeners(self, topic: str) -> int:
        return self.local.listeners(topic)

    async def publish(self, topic: str, notice: Notice) -> None:
        await self.local.publish(topic, notice)
        if notice.events:
            account = notice.events[0].account_id
            first, last = notice.events[0].seq, notice.events[-1].seq
            self._last[account] = max(self._last.get(account, 0), last)
            payload = {"r": self.me, "a": account, "f": first, "l": last}
            await self._notify(EVENTS_CHANNEL, payload)
        elif topic.partition("/")[0] in STATE_KINDS:
            payload = {"r": self.me, "t": topic, "c": notice.conflate, "x": notice.text}
            await self._notify(STATE_CHANNEL, payload)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- sending ----------------------------------------------------------------------------

    async def _notify(self, channel: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, separators=(",", ":"))
        if len(data.encode()) > MAX_PAYLOAD:
            return  # a state message this big is not worth a notification; events never are
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": channel, "payload": data},
                )
            self.sent += 1
        except Exception as exc:  # the others catch up from the store on their next notice
            log.warning("NOTIFY %s failed: %s", channel, type(exc).__name__)

    # -- receiving --------------------------------------------------------------------------

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_events(self, payload: str) -> None:
        message = json.loads(payload)
        if message.get("r") == self.me:
            return
        self.received += 1
        account = str(message["a"])
        if self.local.listeners(f"events/{account}"):
            self._spawn(self._deliver(account, int(message["f"]), int(message["l"])))

    def _on_state(self, payload: str) -> None:
        message = json.loads(payload)
        if message.get("r") == self.me:
            return
        self.received += 1
        notice = Notice(str(message["x"]), message.get("c"))
        self._spawn(self.local.publish(str(message["t"]), notice))

    def _catch_up(self) -> None:
        """After a reconnect: every account followed here, read after its last seq."""
        for account, last in list(self._last.items()):
            if self.local.listeners(f"events/{account}"):
                self._spawn(self._deliver(account, last + 1, None))

    async def _deliver(self, account: str, first: int, last: int | None) -> None:
        """Hand local subscribers the stored events of ``account`` they have not had."""
        lock = self._locks.setdefault(account, asyncio.Lock())
        async with lock:
            after = self._last.get(account, first - 1)  # a gap since then is read too
            while last is None or after < last:
                async with session_scope(self._sessions) as session:
                    events = await store.events_after(
                        session, account, after, limit=PAGE, upto=last
                    )
                if not events:
                    return
                after = events[-1].seq
                self._last[account] = max(self._last.get(account, 0), after)
                await self.local.publish(f"events/{account}", _notice(events))
                if len(events) < PAGE:
                    return


def _notice(events: list[Event]) -> Notice:
    return Notice("[" + ",".join(e.text for e in events) + "]", None, events)
