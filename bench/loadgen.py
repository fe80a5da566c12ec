"""A bounded HTTP/1.1 load generator on asyncio streams, for scenarios wrk cannot script
(a trade's close needs the ticket its open answered).

Each client keeps one connection and runs its own script of requests; the total number of
requests is fixed by the scripts, so a run ends when they are done (or at ``deadline_s``). The
client side costs little CPU (no HTTP library, requests pre-encoded), which matters when the
load generator shares two cores with the gateway it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sample:
    kind: str
    status: int
    seconds: float
    retry_after: bool


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # transport failures by type
    seconds: float = 0.0

    def statuses(self, kind: str | None = None) -> Counter[int]:
        return Counter(s.status for s in self.samples if kind is None or s.kind == kind)

    def latencies(self, kind: str, ok_only: bool = True) -> list[float]:
        return [
            s.seconds
            for s in self.samples
            if s.kind == kind and (not ok_only or 200 <= s.status < 300)
        ]


class Connection:
    """One keep-alive HTTP/1.1 connection; ``request`` answers (status, body, retry-after?)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, bool]:
        if self.writer is None or self.writer.is_closing():
            await self.open()
        assert self.reader is not None and self.writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n{extra}"
        ).encode()
        self.writer.write(head + self.auth + b"\r\n" + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed by the server")
        status = int(status_line.split()[1])
        length, retry_after, closing = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"retry-after":
                retry_after = True
            elif name == b"connection" and b"close" in value.lower():
                closing = True
        data = await self.reader.readexactly(length) if length else b""
        if closing:
            await self.close()
            self.writer = None
        return status, data, retry_after


Script = Callable[[Connection, Callable[[str, int, float, bool], None]], Awaitable[None]]


async def run(
    host: str,
    port: int,
    tokens: list[str],
    script: Script,
    *,
    deadline_s: float = 300.0,
) -> Run:
    """Run ``script`` once per token, all at once; each its own connection."""
    result = Run()

    def record(kind: str, status: int, seconds: float, retry_after: bool) -> None:
        result.samples.append(Sample(kind, status, seconds, retry_after))

    async def client(token: str) -> None:
        conn = Connection(host, port, token)
        try:
            await script(conn, record)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(client(t)) for t in tokens]
    _, pending = await asyncio.wait(tasks, timeout=deadline_s)
    for task in pending:
        task.cancel()
        result.errors["deadline"] += 1
    await asyncio.gather(*pending, return_exceptions=True)
    result.seconds = time.perf_counter() - started
    return result


async def timed_request(
    conn: Connection,
    record: Callable[[str, int, float, bool], None],
    kind: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    started = time.perf_counter()
    status, data, retry_after = await conn.request(method, path, body, headers)
    record(kind, status, time.perf_counter() - started, retry_after)
    return status, data
