"""The live stream (``/api/v1/stream``) with authentication, resume and renewal done for you.

::

    async with client.stream() as stream:
        await stream.subscribe("positions", channels=["positions", "orders", "deals"])
        await stream.subscribe("quotes", symbols=["EURUSD", "BTCUSD"])
        async for message in stream:          # plain dicts, as docs/stream.md describes them
            ...

- It authenticates with the first message (``{"type": "auth"}``), never in the URL.
- It remembers every subscription and, per account, the ``seq`` of the last event it handed
  you. When the socket drops (or the server closes it, e.g. 4008 for a slow reader), it
  reconnects with backoff, authenticates again and subscribes again; event subscriptions ask
  for ``"after": <last seq>``, so the events missed while away arrive first, in order, with no
  gap and no duplicate (an event at or below the last seq is skipped). If the server no longer
  has them it sends a fresh ``snapshot`` with ``"resync": true``.
- A frame holds one message or a JSON array of them (several that waited); they are handed
  over one by one, in order. A socket silent for ``idle_timeout_s`` (the server pings every
  20 s) is taken as dead and replaced.
- On ``auth_expiring`` it sends a new ``auth`` message with a token from the provider
  (``renew()``), so the session outlives the token.

Keep one event subscription per account (combine channels in it): events carry the account,
not the subscription, and the seq bookkeeping is per account.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .auth import TokenProvider
from .errors import MT5GatewayError, Unauthorized

EVENT_CHANNELS = frozenset({"positions", "orders", "deals"})
CLOSE_UNAUTHORIZED = 4001
HANDLED = frozenset({"authenticated", "auth_expiring", "ping", "pong"})


def frame_messages(frame: str | bytes) -> list[dict[str, Any]]:
    """The messages of one frame: a JSON object, or an array of them in order."""
    value = json.loads(frame)
    return value if isinstance(value, list) else [value]


class StreamClosed(MT5GatewayError):
    """The stream gave up: authentication refused, or too many failed reconnects."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Subscription:
    id: str | int
    message: dict[str, Any]
    account_id: str | None = None  # learnt from the server's reply when not given

    @property
    def events(self) -> bool:
        channels = self.message["channel"]
        names = {channels} if isinstance(channels, str) else set(channels)
        return bool(names & EVENT_CHANNELS)


@dataclass
class Stream:
    base_url: str
    auth: TokenProvider
    backoff_s: float = 0.25
    max_backoff_s: float = 10.0
    max_reconnects: int | None = None  # None: keep trying
    open_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    origin: str | None = None
    subscriptions: dict[str | int, Subscription] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0
    renewals: int = 0  # auth messages the server accepted after auth_expiring
    _ws: ClientConnection | None = None
    _closing: bool = False
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _renewal: asyncio.Future[None] | None = None
    _pending: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)

    @property
    def url(self) -> str:
        base = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/v1/stream"

    @property
    def connection(self) -> ClientConnection | None:
        """The current socket (tests cut it to check the resume)."""
        return self._ws

    async def __aenter__(self) -> Stream:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()

    # -- subscriptions ---------------------------------------------------------------------------

    async def subscribe(
        self,
        channel: str,
        *,
        id: str | int | None = None,
        channels: list[str] | None = None,
        account_id: str | None = None,
        symbols: list[str] | None = None,
        timeframe: str | None = None,
        after: int | None = None,
    ) -> str | int:
        """Subscribe; the answer (``subscribed``/``snapshot``/``error``) arrives in the stream.

        ``channel`` is one channel; ``channels`` combines event channels in one subscription.
        ``after``: resume events after this seq (the stream does it by itself on reconnect)."""
        ref = id if id is not None else f"{channel}-{next(self._ids)}"
        message: dict[str, Any] = {
            "type": "subscribe",
            "id": ref,
            "channel": channels or channel,
        }
        for key, value in (("account_id", account_id), ("symbols", symbols)):
            if value is not None:
                message[key] = value
        if timeframe is not None:
            message["timeframe"] = timeframe
        subscription = Subscription(ref, message, account_id)
        if after is not None and account_id is not None:
            self.last_seq[account_id] = after
        self.subscriptions[ref] = subscription
        await self._send(self._with_cursor(subscription, after))
        return ref

    async def unsubscribe(self, ref: str | int) -> None:
        self.subscriptions.pop(ref, None)
        await self._send({"type": "unsubscribe", "id": ref})

    def _with_cursor(self, subscription: Subscription, after: int | None) -> dict[str, Any]:
        message = dict(subscription.message)
        if subscription.events:
            seq = after
            if seq is None and subscription.account_id is not None:
                seq = self.last_seq.get(subscription.account_id)
            if seq is not None:
                message["after"] = seq
        return message

    # -- receiving -------------------------------------------------------------------------------

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            while self._pending:
                message = self._pending.popleft()
                if self._take(message):
                    return message
            if self._ws is None:
                raise StopAsyncIteration
            try:
                raw = await asyncio.wait_for(self._ws.recv(), self.idle_timeout_s)
            except TimeoutError:  # silent past the heartbeat: a dead peer
                self._ws.transport.abort()
                await self._reconnect(None)
                continue
            except ConnectionClosed as exc:
                if self._closing:
                    raise StopAsyncIteration from None
                code = exc.rcvd.code if exc.rcvd is not None else None
                await self._reconnect(code)
                continue
            self._pending.extend(frame_messages(raw))

    def _take(self, message: dict[str, Any]) -> bool:
        """Book-keeping of one message; False: do not hand it to the caller."""
        kind = message.get("type")
        if kind == "auth_expiring":
            self._renewal = asyncio.ensure_future(self._renew())
        elif kind == "authenticated":
            self.renewals += 1
        if kind in HANDLED:
            return False
        if kind in ("snapshot", "subscribed"):
            subscription = self.subscriptions.get(message.get("id", ""))
            account = message.get("account_id")
            if subscription is not None and account:
                subscription.account_id = account
            if kind == "snapshot" and account is not None and "seq" in message:
                self.last_seq[account] = int(message["seq"])
        elif kind == "event":
            account, seq = message["account_id"], int(message["seq"])
            if seq <= self.last_seq.get(account, -1):
                return False  # already handed over (a resume never repeats, but be sure)
            self.last_seq[account] = seq
        return True

    async def _renew(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._send({"type": "auth", "token": await self.auth.renew()})

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise StreamClosed("the stream is not open")
        with contextlib.suppress(ConnectionClosed):  # the receive side reconnects
            await self._ws.send(json.dumps(message))

    # -- connecting ------------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Open, authenticate (renewing the token once if it is refused) and resubscribe."""
        for renewed in (False, True):
            headers = {"Origin": self.origin} if self.origin else None
            ws = await connect(
                self.url, open_timeout=self.open_timeout_s, additional_headers=headers
            )
            token = await self.auth.renew() if renewed else await self.auth.stream_token()
            await ws.send(json.dumps({"type": "auth", "token": token}))
            try:
                frame = await asyncio.wait_for(ws.recv(), self.open_timeout_s)
                reply, *rest = frame_messages(frame)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                if code == CLOSE_UNAUTHORIZED and not renewed:
                    continue
                if code == CLOSE_UNAUTHORIZED:
                    raise Unauthorized(401, {"detail": reason, "code": "UNAUTHORIZED"}) from None
                raise
            if reply.get("type") != "authenticated":
                await ws.close()
                raise StreamClosed(f"unexpected first answer: {reply.get('type')}")
            self._ws = ws
            self._pending.extend(rest)
            for subscription in list(self.subscriptions.values()):
                await ws.send(json.dumps(self._with_cursor(subscription, None)))
            return

    async def _reconnect(self, code: int | None) -> None:
        failures = 0
        while True:
            if self.max_reconnects is not None and failures >= self.max_reconnects:
                raise StreamClosed(f"gave up reconnecting after close code {code}", code)
            delay = min(self.max_backoff_s, self.backoff_s * 2.0**failures)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            try:
                await self._connect()
            except Unauthorized:
                raise
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError):
                failures += 1
                continue
            self.reconnects += 1
            return
