"""Publish/subscribe between the pollers and the connections that fan their output out.

Topics are plain strings (``events/<account>``, ``account/<account>``, ``status/<account>``,
``quotes/<server>/<symbol>``, ``bars/<server>/<symbol>/<timeframe>``). A :class:`Notice` is what
travels: the message already serialized once (``text``), the key under which a slow reader may
keep only the latest one (``conflate``; None for messages that must all arrive), and for account
events the stored :class:`~gateway.events.schema.Event` objects.

:class:`InProcessBus` is the one-process implementation. The interface is small on purpose: a
bus over PostgreSQL ``LISTEN/NOTIFY`` implements ``publish`` as a ``NOTIFY`` carrying the topic
and, for events, only the account and ``seq`` (readers fetch the events from the store, which
they already do to fill any gap), and ``subscribe`` as a listener that feeds the same handlers.
Readers never rely on seeing every notice: event subscribers follow ``seq`` and read what they
missed from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gateway.events.schema import Event


@dataclass(frozen=True)
class Notice:
    text: str
    conflate: str | None = None
    events: Sequence[Event] = field(default=())


Handler = Callable[[Notice], None]
Unsubscribe = Callable[[], None]


class Publisher(Protocol):
    async def publish(self, topic: str, notice: Notice) -> None: ...


class Subscriber(Protocol):
    def subscribe(self, topic: str, handler: Handler) -> Unsubscribe: ...


class Bus(Publisher, Subscriber, Protocol):
    """Both halves; a gateway process holds one."""


class InProcessBus:
    """Handlers are called synchronously, in subscription order, by ``publish``; a handler
    must only queue work (it runs inside the publisher's task)."""

    def __init__(self) -> None:
        self._handlers: dict[str, dict[int, Handler]] = {}
        self._next = 0

    def subscribe(self, topic: str, handler: Handler) -> Unsubscribe:
        self._next += 1
        token = self._next
        self._handlers.setdefault(topic, {})[token] = handler

        def unsubscribe() -> None:
            handlers = self._handlers.get(topic)
            if handlers is not None:
                handlers.pop(token, None)
                if not handlers:
                    del self._handlers[topic]

        return unsubscribe

    async def publish(self, topic: str, notice: Notice) -> None:
        for handler in list(self._handlers.get(topic, {}).values()):
            handler(notice)

    def listeners(self, topic: str) -> int:
        return len(self._handlers.get(topic, {}))
