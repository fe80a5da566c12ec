"""One connected client's outgoing side: a bounded queue, conflation, and the sender task.

Two kinds of messages wait to be sent:

- *ordered* ones (account events, snapshots, replies, errors, closed bars) in a FIFO that holds at
  most ``limit``; one more and the client is closed with 4008 (it resumes from its ``seq``), so
  an account event is never dropped silently and a slow reader never holds others back;
- *conflated* ones (quotes, the forming bar, account figures, status) under a key: a newer one
  replaces the older one still waiting, so a slow reader gets the latest, not a backlog.

The sender task writes ordered messages first, then the latest conflated ones. Messages that
wait together go out in one frame, as a JSON array in order (one message alone is sent as it
is): a write costs the same for one message or fifty, so a busy stream sends fewer, larger
frames instead of falling behind. A write that does not finish within ``send_timeout_s`` (the
peer stopped reading) also ends with 4008.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.websockets import WebSocket

log = logging.getLogger("gateway.stream")

CLOSE_UNAUTHORIZED = 4001
CLOSE_OVERFLOW = 4008
CLOSE_BAD_PROTOCOL = 4000
CLOSE_TOO_MANY = 4029
CLOSE_GOING_AWAY = 1001
FRAME_MESSAGES = 256  # messages waiting together go out as one frame (a JSON array) ...
FRAME_BYTES = 65_536  # ... of about this size at most


class Outbox:
    def __init__(self, ws: WebSocket, *, limit: int, send_timeout_s: float) -> None:
        self._ws = ws
        self._limit = limit
        self._half = max(1, limit // 2)
        self._send_timeout_s = send_timeout_s
        self._ordered: deque[str] = deque()
        self._latest: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.closing: tuple[int, str] | None = None
        self.closed = asyncio.Event()  # set when the connection must end (closing says why)
        self.sent = 0

    def push(self, text: str) -> None:
        """Queue a message that must arrive (or the client is closed with 4008)."""
        if self.closing is not None:
            return
        if len(self._ordered) >= self._limit:
            self.close(CLOSE_OVERFLOW, "client too slow: resume from your last seq")
            return
        self._ordered.append(text)
        self._wake.set()
        if len(self._ordered) >= self._half:
            self._drained.clear()

    def put(self, key: str, text: str) -> None:
        """Queue a message that a newer one under the same ``key`` may replace."""
        if self.closing is not None:
            return
        self._latest[key] = text
        self._wake.set()

    async def room(self) -> None:
        """Wait until the ordered queue is at most half full (or the client is closing): how a
        replay of stored events keeps pace with the reader instead of overflowing."""
        while self.closing is None and len(self._ordered) >= self._half:
            self._drained.clear()
            await self._drained.wait()

    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self.closed.set()
            self._drained.set()

    @property
    def backlog(self) -> int:
        return len(self._ordered) + len(self._latest)

    async def run(self) -> None:
        """The sender: runs until cancelled or until the client must be closed."""
        while self.closing is None:
            await self._wake.wait()
            self._wake.clear()
            while self.closing is None and (self._ordered or self._latest):
                texts = self._take()
                frame = texts[0] if len(texts) == 1 else "[" + ",".join(texts) + "]"
                try:
                    async with asyncio.timeout(self._send_timeout_s):
                        await self._ws.send_text(frame)
                except TimeoutError:
                    self.close(CLOSE_OVERFLOW, "client not reading: resume from your last seq")
                    return
                self.sent += len(texts)

    def _take(self) -> list[str]:
        """What waits, for one frame: ordered messages first, then the latest conflated ones,
        up to ``FRAME_MESSAGES`` messages or about ``FRAME_BYTES``."""
        texts: list[str] = []
        size = 0
        while self._ordered and len(texts) < FRAME_MESSAGES and size < FRAME_BYTES:
            texts.append(self._ordered.popleft())
            size += len(texts[-1])
        if len(self._ordered) < self._half:
            self._drained.set()
        while self._latest and len(texts) < FRAME_MESSAGES and size < FRAME_BYTES:
            key = next(iter(self._latest))
            texts.append(self._latest.pop(key))
            size += len(texts[-1])
        return texts
