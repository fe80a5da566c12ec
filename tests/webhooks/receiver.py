"""A local webhook receiver: records every request; can be down (503), redirect, or slow.

It also notes a request that arrives while another one for the same ``webhook-id`` (and path) is
still being answered (``overlaps``): two senders attempting one delivery at once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what it was answered (set once answered)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    mode: str = "ok"  # ok | down | redirect
    requests: list[Received] = field(default_factory=list)
    hold_s: float = 0.0  # how long each request is held before it is answered
    overlaps: list[str] = field(default_factory=list)  # webhook-ids received while in flight

    def __post_init__(self) -> None:
        owner = self
        in_flight: dict[tuple[str, str], int] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received = Received(self.path, dict(self.headers.items()), body)
                key = (self.path, received.headers.get("webhook-id", ""))
                with lock:
                    if in_flight.get(key):
                        owner.overlaps.append(key[1])
                    in_flight[key] = in_flight.get(key, 0) + 1
                try:
                    if owner.hold_s:
                        time.sleep(owner.hold_s)
                    mode = owner.mode
                    received.status = {"down": 503, "redirect": 302}.get(mode, 204)
                    owner.requests.append(received)
                    self.send_response(received.status)
                    if mode == "redirect":
                        self.send_header("location", f"{owner.url}/elsewhere")
                    self.send_header("content-length", "0")
                    self.end_headers()
                finally:
                    with lock:
                        in_flight[key] -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def delivered(self, path: str = "/hook") -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait(
        self, count: int, path: str = "/hook", timeout_s: float = 60.0
    ) -> list[Received]:
        """The first ``count`` requests to ``path`` (waits for them; a safety bound only)."""
        end = time.monotonic() + timeout_s
        while len(self.delivered(path)) < count:
            if time.monotonic() > end:
                raise AssertionError(f"{len(self.delivered(path))} of {count} requests arrived")
            await asyncio.sleep(0.05)
        return self.delivered(path)[:count]
