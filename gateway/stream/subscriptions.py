"""What one subscription does: lease from the hub, listen on the bus, send the first messages.

- :class:`MarketSubscription` (``quotes``, ``bars``): conflated quotes and forming bars, closed
  bars in order. The current quote of each symbol is sent at once when the hub has one.
- :class:`StateSubscription` (``account``, ``status``): the conflated latest, current one first.
- :class:`EventSubscription` (``positions``, ``orders``, ``deals``, one or several): a snapshot
  with the current ``seq`` (or, with ``after``, the stored events after it; if they are no longer
  stored, a snapshot with ``resync: true``), then every event in ``seq`` order. A cursor makes
  delivery exact: an event at or below it is a duplicate and skipped; one past ``cursor + 1``
  means a gap, which is read from the store before going on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from gateway.db import session_scope
from gateway.events import store
from gateway.events.bus import Notice, Unsubscribe
from gateway.events.schema import Event, dumps, iso
from gateway.events.watcher import AccountWatcher, WatchTarget, topic
from gateway.portfolio.service import order_out, position_out
from gateway.stream.client import Outbox
from gateway.stream.hub import Hub
from gateway.stream.market import BarKey, bar_topic, market_topic, quote_topic
from gateway.stream.protocol import ProtocolError

READY_WAIT_S = 5.0  # how long a snapshot waits for the first poll of a newly watched account
PAGE = 500


class Subscription(Protocol):
    ref: str | int

    async def start(self) -> None: ...
    def stop(self) -> None: ...


class _Listening:
    def __init__(self, hub: Hub, outbox: Outbox, ref: str | int) -> None:
        self.hub, self.outbox, self.ref = hub, outbox, ref
        self._unsubscribe: list[Unsubscribe] = []

    def listen(self, name: str, handler: Callable[[Notice], None]) -> None:
        self._unsubscribe.append(self.hub.bus.subscribe(name, handler))

    def deliver(self, notice: Notice) -> None:
        if notice.conflate is None:
            self.outbox.push(notice.text)
        else:
            self.outbox.put(notice.conflate, notice.text)

    def stop_listening(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()


class MarketSubscription(_Listening):
    def __init__(
        self,
        hub: Hub,
        outbox: Outbox,
        ref: str | int,
        *,
        user_id: str,
        server: str,
        symbols: list[str],
        timeframe: str | None,
    ) -> None:
        super().__init__(hub, outbox, ref)
        self.user_id, self.server, self.symbols = user_id, server, symbols
        self.bars: list[BarKey] = [(s, timeframe) for s in symbols] if timeframe else []
        self.quotes = [] if timeframe else list(symbols)
        self._counted = False

    async def start(self) -> None:
        usage = self.hub.usage(self.user_id)
        keys = [(self.server, s) for s in self.symbols]
        new = {k for k in keys if usage.symbols[k] <= 0}
        held = sum(1 for n in usage.symbols.values() if n > 0)
        limit = self.hub.settings.stream_max_symbols_per_user
        if held + len(new) > limit:
            raise ProtocolError(
                "SUBSCRIPTION_LIMIT",
                f"at most {limit} symbols per user (quotes and bars, all connections); "
                f"you follow {held}",
                self.ref,
            )
        poller = self.hub.poller(self.server)
        unchecked = [s for s in self.symbols if poller.symbols[s] <= 0 and s not in poller.quotes]
        unchecked = [s for s in unchecked if all(k[0] != s for k in poller.bars)]
        if unchecked:
            unknown = await poller.check_symbols(unchecked)
            if unknown:
                raise ProtocolError("SYMBOL_NOT_FOUND", f"unknown symbol: {unknown[0]}", self.ref)
        usage.symbols.update(keys)
        self._counted = True
        self.hub.follow_market(self.server, self.quotes, self.bars)
        self.listen(market_topic(self.server), self.deliver)
        for symbol in self.quotes:
            self.listen(quote_topic(self.server, symbol), self.deliver)
        for symbol, timeframe in self.bars:
            self.listen(bar_topic(self.server, symbol, timeframe), self.deliver)
        channel = "bars" if self.bars else "quotes"
        reply: dict[str, Any] = {"type": "subscribed", "id": self.ref, "channel": channel}
        reply.update(server=self.server, symbols=self.symbols)
        if self.bars:
            reply["timeframe"] = self.bars[0][1]
        self.outbox.push(dumps(reply))
        for symbol in self.quotes:
            if symbol in poller.quotes:
                self.deliver(poller.quotes[symbol])
        for key in self.bars:
            if key in poller.forming:
                self.deliver(poller.forming[key][1])

    def stop(self) -> None:
        self.stop_listening()
        if self._counted:
            self._counted = False
            self.hub.unfollow_market(self.server, self.quotes, self.bars)
            usage = self.hub.usage(self.user_id)
            usage.symbols.subtract((self.server, s) for s in self.symbols)
            self.hub.release_user(self.user_id)


class StateSubscription(_Listening):
    """``account`` (figures) or ``status`` of one account."""

    def __init__(
        self, hub: Hub, outbox: Outbox, ref: str | int, target: WatchTarget, channel: str
    ) -> None:
        super().__init__(hub, outbox, ref)
        self.target, self.channel = target, channel
        self._watching = False

    async def start(self) -> None:
        watcher = await self.hub.watch(self.target)
        self._watching = True
        self.listen(topic(self.channel, self.target.account_id), self.deliver)
        reply = {"type": "subscribed", "id": self.ref, "channel": self.channel}
        self.outbox.push(dumps(reply | {"account_id": self.target.account_id}))
        current = watcher.figures if self.channel == "account" else watcher.status
        if current is not None:
            self.deliver(current)

    def stop(self) -> None:
        self.stop_listening()
        if self._watching:
            self._watching = False
            self.hub.unwatch(self.target.account_id)


class EventSubscription(_Listening):
    def __init__(
        self,
        hub: Hub,
        outbox: Outbox,
        ref: str | int,
        target: WatchTarget,
        channels: list[str],
        after: int | None,
    ) -> None:
        super().__init__(hub, outbox, ref)
        self.target, self.channels, self.after = target, channels, after
        self.account_id = target.account_id
        self.cursor = 0
        self.live = False
        self.pending: list[Event] = []
        self._pump: asyncio.Task[None] | None = None
        self._watching = False

    async def start(self) -> None:
        watcher = await self.hub.watch(self.target)
        self._watching = True
        self.listen(topic("events", self.account_id), self._on_events)
        if self.after is None:
            await self._snapshot(watcher, resync=False)
        else:
            async with session_scope(self.hub.sessions) as session:
                ok, _ = await store.replayable(session, self.account_id, self.after)
            if ok:
                self.cursor = self.after
                reply = {"type": "subscribed", "id": self.ref, "account_id": self.account_id}
                self.outbox.push(dumps(reply | {"channels": self.channels, "after": self.after}))
                await self._read_store(upto=None)
            else:
                await self._snapshot(watcher, resync=True)
        await self._drain()

    def stop(self) -> None:
        self.stop_listening()
        if self._pump is not None:
            self._pump.cancel()
        if self._watching:
            self._watching = False
            self.hub.unwatch(self.account_id)

    async def _snapshot(self, watcher: AccountWatcher, *, resync: bool) -> None:
        if not watcher.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watcher.ready.wait(), READY_WAIT_S)
        self.cursor = watcher.seq
        self.outbox.push(dumps(snapshot(watcher, self.ref, self.channels, resync)))

    def _on_events(self, notice: Notice) -> None:
        if not self.live:
            self.pending.extend(notice.events)
            return
        for i, event in enumerate(notice.events):
            if event.seq <= self.cursor:
                continue
            if event.seq != self.cursor + 1:  # a gap: read it from the store first
                self.live = False
                self.pending.extend(notice.events[i:])
                self._pump = asyncio.create_task(self._drain())
                return
            self._send(event)

    def _send(self, event: Event) -> None:
        self.cursor = event.seq
        if event.channel in self.channels:
            self.outbox.push(event.text)

    async def _drain(self) -> None:
        """Deliver what waited (reading gaps from the store) until caught up, then go live."""
        while self.pending:
            self.pending.sort(key=lambda ev: ev.seq)
            first = self.pending[0].seq
            if first > self.cursor + 1:
                await self._read_store(upto=first - 1)
                if self.cursor < first - 1:  # not in the store (pruned): nothing more to find
                    self.cursor = first - 1
                continue
            event = self.pending.pop(0)
            if event.seq == self.cursor + 1:
                self._send(event)
        self.live = True

    async def _read_store(self, upto: int | None) -> None:
        while self.outbox.closing is None:
            async with session_scope(self.hub.sessions) as session:
                events = await store.events_after(
                    session, self.account_id, self.cursor, limit=PAGE, upto=upto
                )
            for event in events:
                if event.seq == self.cursor + 1:
                    self._send(event)
                    await self.outbox.room()
            if len(events) < PAGE:
                return


def snapshot(
    watcher: AccountWatcher, ref: str | int, channels: list[str], resync: bool
) -> dict[str, Any]:
    view, basis = watcher.view, watcher.basis
    message: dict[str, Any] = {
        "type": "snapshot",
        "id": ref,
        "account_id": watcher.account_id,
        "channels": channels,
        "seq": watcher.seq,
        "resync": resync,
        "as_of": iso(watcher.as_of) if watcher.as_of else None,
    }
    if view is None or basis is None:  # never seen: unknown, not empty
        message.update({name: None for name in ("positions", "orders") if name in channels})
        return message
    if "positions" in channels:
        message["positions"] = [
            position_out(p, basis).model_dump() for p in view.positions.values()
        ]
    if "orders" in channels:
        message["orders"] = [order_out(o, basis).model_dump() for o in view.orders.values()]
    return message
