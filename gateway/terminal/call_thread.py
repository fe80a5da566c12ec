"""The one thread that talks to one terminal server, and the connection it keeps.

One terminal is one shared MT5 session, so everything to it is serialized: an asyncio lock in
front of a dedicated single-thread executor, where all blocking RPyC I/O runs (never on the
event loop). The connection is opened lazily and re-opened after a failure, with exponential
backoff between failed attempts (0.1 s doubling, capped at 5 s; during the wait calls fail fast
with ``TerminalUnreachable``). A timed-out call drops the connection, because its late reply
would otherwise be read as the answer to the next call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

from gateway.terminal.connection import Session, TlsConfig, open_connection
from gateway.terminal.errors import TerminalTimeout, TerminalUnreachable

T = TypeVar("T")

BACKOFF_FIRST_S = 0.1
BACKOFF_CAP_S = 5.0


class CallThread:
    """Runs jobs against one terminal server's connection, one at a time, off the event loop."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        secret: str | None,
        tls: TlsConfig | None,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._secret = secret
        self._tls = tls
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"terminal-{name}")
        self._failed_attempts = 0
        self._retry_at = 0.0
        self.last_error_at: float | None = None  # time.time() of the last transport failure
        self.connects = 0  # successful connections so far (1 + reconnects)

    @property
    def state(self) -> Literal["connected", "disconnected"]:
        session = self._session
        return "connected" if session is not None and not session.conn.closed else "disconnected"

    async def run(self, job: Callable[[Session], T], timeout_s: float | None = None) -> T:
        """``job(session)`` in the thread, after every job queued before it."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, self._blocking, job, timeout_s or self.timeout_s
            )

    async def close(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._drop, True)
        self._executor.shutdown(wait=False)

    def _blocking(self, job: Callable[[Session], T], timeout_s: float) -> T:
        """Runs in the executor thread: connect if needed, run the job, map transport errors."""
        session = self._connected()
        session.conn._config["sync_request_timeout"] = timeout_s
        try:
            return job(session)
        except TimeoutError as exc:  # rpyc's AsyncResultTimeout is the builtin TimeoutError
            self._drop(False)
            self.last_error_at = time.time()
            raise TerminalTimeout(
                f"terminal {self.name} did not answer within {timeout_s:g} s (outcome unknown)",
                terminal=self.name,
            ) from exc
        except (EOFError, OSError) as exc:
            self._drop(False)
            self.last_error_at = time.time()
            raise TerminalUnreachable(
                f"connection to terminal {self.name} lost: {exc or type(exc).__name__}",
                terminal=self.name,
            ) from exc

    def _connected(self) -> Session:
        session = self._session
        if session is not None and not session.conn.closed:
            return session
        self._session = None
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise TerminalUnreachable(
                f"terminal {self.name} unreachable; next connection attempt in {wait:.1f} s",
                terminal=self.name,
            )
        try:
            conn = open_connection(
                self.host,
                self.port,
                connect_timeout_s=self.connect_timeout_s,
                timeout_s=self.timeout_s,
                secret=self._secret,
                tls=self._tls,
            )
            session = Session(conn)
        except (OSError, EOFError, TerminalUnreachable) as exc:
            self._failed_attempts += 1
            delay = min(BACKOFF_FIRST_S * 2 ** (self._failed_attempts - 1), BACKOFF_CAP_S)
            self._retry_at = time.monotonic() + delay
            self.last_error_at = time.time()
            if isinstance(exc, TerminalUnreachable):
                exc.terminal = self.name
                raise
            raise TerminalUnreachable(
                f"cannot connect to terminal {self.name} at {self.host}:{self.port}: {exc}",
                terminal=self.name,
            ) from exc
        self._failed_attempts = 0
        self._retry_at = 0.0
        self._session = session
        self.connects += 1
        return session

    def _drop(self, graceful: bool) -> None:
        session, self._session = self._session, None
        if session is not None:
            if graceful:
                session.conn._config["sync_request_timeout"] = self.connect_timeout_s
            session.close(graceful=graceful)
