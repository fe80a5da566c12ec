"""``RpycTerminal``: the terminal port over RPyC, to a restricted terminal server.

One terminal is one shared MT5 session, so everything to it is serialized: an asyncio lock in
front of a dedicated single-thread executor, where all blocking RPyC I/O runs (never on the
event loop). Each MT5 call is one round trip: ``root.call(function, args, kwargs_pairs)``
answers ``(encoded_result, (code, message))`` with ``last_error()`` taken in that same call.

The connection exposes nothing back (``VoidService``), refuses pickle, and is re-opened lazily
after a failure, with exponential backoff between failed attempts (0.1 s doubling, capped at
5 s; during the wait calls fail fast with ``TerminalUnreachable``). A timed-out call drops the
connection, because its late reply would otherwise be read as the answer to the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import numpy as np
import rpyc
from rpyc.core.stream import SocketStream
from rpyc.utils.factory import connect_stream

from gateway.terminal.codec import RemoteCallError, WireDecoder, encode_call
from gateway.terminal.errors import MT5Error, TerminalError, TerminalTimeout, TerminalUnreachable
from gateway.terminal.port import Call, Record

T = TypeVar("T")

# Shared-secret handshake (terminal_server/auth.py): challenge = MAGIC + 32-byte nonce,
# answer = HMAC-SHA256(secret, challenge), verdict b"OK" / b"NO".
AUTH_MAGIC = b"MT5GWv1\n"
AUTH_CHALLENGE_SIZE = len(AUTH_MAGIC) + 32
BACKOFF_FIRST_S = 0.1
BACKOFF_CAP_S = 5.0
# Functions whose failure value is False (the others fail with None; shutdown never fails).
_FALSE_ON_FAILURE = frozenset(
    ("initialize", "login", "symbol_select", "market_book_add", "market_book_release")
)


@dataclass(frozen=True)
class TlsConfig:
    """Mutual TLS to the terminal server: the CA that signed the server's certificate, and
    this client's certificate and key (the server requires one)."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True
    server_hostname: str | None = None  # defaults to the host we connect to


class AuthenticationFailed(TerminalUnreachable):
    """The terminal server refused our credentials (shared secret or certificate)."""


def open_connection(
    host: str,
    port: int,
    *,
    connect_timeout_s: float = 5.0,
    timeout_s: float = 90.0,
    secret: str | bytes | None = None,
    tls: TlsConfig | None = None,
) -> Any:
    """A raw RPyC connection to a terminal server (TLS, then the secret, then RPyC).

    Blocking. Raises OSError/EOFError for network trouble and AuthenticationFailed."""
    sock = socket.create_connection((host, port), timeout=connect_timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = _wrap_tls(sock, host, tls)
        if secret is not None:
            key = secret.encode() if isinstance(secret, str) else secret
            _answer_challenge(sock, key, f"{host}:{port}")
        sock.settimeout(max(timeout_s, connect_timeout_s))
        config = {
            "allow_pickle": False,
            "allow_public_attrs": False,
            "allow_all_attrs": False,
            "import_custom_exceptions": False,
            "instantiate_custom_exceptions": False,
            "sync_request_timeout": connect_timeout_s,
        }
        return connect_stream(SocketStream(sock), service=rpyc.VoidService, config=config)
    except BaseException:
        sock.close()
        raise


def _wrap_tls(sock: socket.socket, host: str, tls: TlsConfig) -> socket.socket:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    context.check_hostname = tls.check_hostname
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, keyfile=tls.key_file)
    try:
        return context.wrap_socket(sock, server_hostname=tls.server_hostname or host)
    except ssl.SSLCertVerificationError as exc:
        raise AuthenticationFailed(f"terminal server certificate rejected: {exc}") from exc


def _recv_exactly(sock: socket.socket, size: int, what: str) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except TimeoutError as exc:
            raise AuthenticationFailed(f"no {what} from the terminal server") from exc
        if not chunk:
            raise AuthenticationFailed(f"terminal server closed the connection before {what}")
        data += chunk
    return data


def _answer_challenge(sock: socket.socket, secret: bytes, where: str) -> None:
    challenge = _recv_exactly(sock, AUTH_CHALLENGE_SIZE, "authentication challenge")
    if not challenge.startswith(AUTH_MAGIC):
        raise AuthenticationFailed(f"{where} did not send an authentication challenge")
    sock.sendall(hmac.new(secret, challenge, hashlib.sha256).digest())
    if _recv_exactly(sock, 2, "authentication verdict") != b"OK":
        raise AuthenticationFailed(f"{where} refused the shared secret")


class _Session:
    """One live connection and the remote methods we use (resolved once: one round trip
    per call afterwards)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        root = conn.root
        self.call = root.call
        self.batch = root.batch
        self.ping = root.ping
        self.decoder = WireDecoder(lambda name: tuple(root.struct_fields(name)))

    def close(self, *, graceful: bool) -> None:
        if not graceful:
            # Cut the socket first: no goodbye round trip that a hung server would not answer.
            with contextlib.suppress(Exception):
                self.conn._channel.close()
        with contextlib.suppress(Exception):
            self.conn.close()


class RpycTerminal:
    """The terminal port over RPyC to one terminal server (see the module docstring)."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        timeout_s: float = 90.0,
        connect_timeout_s: float = 5.0,
        secret: str | None = None,
        tls: TlsConfig | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._secret = secret
        self._tls = tls
        self._session: _Session | None = None
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"terminal-{name}")
        self._failed_attempts = 0
        self._retry_at = 0.0
        self.last_error_at: float | None = None  # time.time() of the last transport failure
        self.connects = 0  # successful connections so far (1 + reconnects)

    def __repr__(self) -> str:
        return f"RpycTerminal({self.name!r}, {self.host}:{self.port}, {self.state})"

    @property
    def state(self) -> Literal["connected", "disconnected"]:
        session = self._session
        return "connected" if session is not None and not session.conn.closed else "disconnected"

    # -- generic calls -------------------------------------------------------------------

    async def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call(function, args, kwargs)

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        wire = tuple(encode_call(fn, tuple(args), dict(kwargs)) for fn, args, kwargs in calls)

        def job(session: _Session) -> list[Any]:
            answers = session.batch(wire)
            return [
                self._finish(fn, session, ans)
                for (fn, _, _), ans in zip(wire, answers, strict=True)
            ]

        return await self._run(job)

    async def ping(self) -> None:
        """One round trip to the terminal server (not to the broker)."""
        await self._run(lambda session: session.ping())

    async def broker_connected(self) -> bool:
        """Whether the terminal is connected to its broker (``terminal_info().connected``)."""
        return bool((await self.terminal_info())["connected"])

    async def close(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._drop, True)
        self._executor.shutdown(wait=False)

    # -- the port's typed methods ----------------------------------------------------------

    async def account_info(self) -> Record:
        return cast(Record, await self._call("account_info"))

    async def terminal_info(self) -> Record:
        return cast(Record, await self._call("terminal_info"))

    async def login(self, login: int, password: str, server: str, timeout_ms: int) -> None:
        kwargs = {"password": password, "server": server, "timeout": timeout_ms}
        await self._call("login", (login,), kwargs, max(self.timeout_s, timeout_ms / 1000 + 10))

    async def symbols_get(self, group: str | None = None) -> list[Record]:
        args = () if group is None else (group,)
        return cast(list[Record], await self._call("symbols_get", args))

    async def symbol_info(self, symbol: str) -> Record:
        return cast(Record, await self._call("symbol_info", (symbol,)))

    async def symbol_info_tick(self, symbol: str) -> Record:
        return cast(Record, await self._call("symbol_info_tick", (symbol,)))

    async def symbol_select(self, symbol: str, enable: bool = True) -> None:
        await self._call("symbol_select", (symbol, enable))

    async def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int
    ) -> np.ndarray:
        return await self._array("copy_rates_from_pos", symbol, timeframe, start_pos, count)

    async def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: int, date_to: int
    ) -> np.ndarray:
        return await self._array("copy_rates_range", symbol, timeframe, date_from, date_to)

    async def copy_ticks_from(
        self, symbol: str, date_from: int, count: int, flags: int
    ) -> np.ndarray:
        return await self._array("copy_ticks_from", symbol, date_from, count, flags)

    async def copy_ticks_range(
        self, symbol: str, date_from: int, date_to: int, flags: int
    ) -> np.ndarray:
        return await self._array("copy_ticks_range", symbol, date_from, date_to, flags)

    async def positions_get(
        self, *, symbol: str | None = None, ticket: int | None = None
    ) -> list[Record]:
        kwargs = _present(symbol=symbol, ticket=ticket)
        return cast(list[Record], await self._call("positions_get", (), kwargs))

    async def orders_get(
        self, *, symbol: str | None = None, ticket: int | None = None
    ) -> list[Record]:
        kwargs = _present(symbol=symbol, ticket=ticket)
        return cast(list[Record], await self._call("orders_get", (), kwargs))

    async def history_orders_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
    ) -> list[Record]:
        return await self._history("history_orders_get", date_from, date_to, ticket, position)

    async def history_deals_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
    ) -> list[Record]:
        return await self._history("history_deals_get", date_from, date_to, ticket, position)

    async def order_check(self, request: Record) -> Record:
        return cast(Record, await self._call("order_check", (request,)))

    async def order_send(self, request: Record) -> Record:
        return cast(Record, await self._call("order_send", (request,)))

    async def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float
    ) -> float:
        return cast(float, await self._call("order_calc_margin", (action, symbol, volume, price)))

    async def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> float:
        args = (action, symbol, volume, price_open, price_close)
        return cast(float, await self._call("order_calc_profit", args))

    # -- internals -------------------------------------------------------------------------

    async def _array(self, function: str, *args: Any) -> np.ndarray:
        return cast(np.ndarray, await self._call(function, args))

    async def _history(
        self,
        function: str,
        date_from: int | None,
        date_to: int | None,
        ticket: int | None,
        position: int | None,
    ) -> list[Record]:
        if ticket is not None:
            result = await self._call(function, (), {"ticket": ticket})
        elif position is not None:
            result = await self._call(function, (), {"position": position})
        elif date_from is not None and date_to is not None:
            result = await self._call(function, (date_from, date_to))
        else:
            raise ValueError(f"{function} needs date_from and date_to, a ticket or a position")
        return cast(list[Record], result)

    async def _call(
        self,
        function: str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        wire = encode_call(function, args, kwargs or {})  # TypeError here, before any I/O
        return await self._run(
            lambda session: self._finish(function, session, session.call(*wire)), timeout_s
        )

    def _finish(self, function: str, session: _Session, answer: Any) -> Any:
        """Decode one ``(encoded_result, (code, message))`` answer; failures raise."""
        encoded, (code, message) = answer
        try:
            result = session.decoder.decode(encoded)
        except RemoteCallError as exc:
            raise self._remote_error(function, exc) from None
        failed = result is False if function in _FALSE_ON_FAILURE else result is None
        if failed and function != "shutdown":
            raise MT5Error(function, int(code), str(message), terminal=self.name)
        return result

    def _remote_error(self, function: str, exc: RemoteCallError) -> Exception:
        text = f"{function}: {exc.message}"
        if exc.kind in ("TypeError", "ArgumentError"):
            return TypeError(text)
        if exc.kind in ("ValueError", "Refused"):
            return ValueError(text)
        return TerminalError(
            f"{function} raised {exc.kind} on the terminal: {exc.message}", terminal=self.name
        )

    async def _run(self, job: Callable[[_Session], T], timeout_s: float | None = None) -> T:
        async with self._lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._executor, self._blocking, job, timeout_s or self.timeout_s
            )

    def _blocking(self, job: Callable[[_Session], T], timeout_s: float) -> T:
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

    def _connected(self) -> _Session:
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
            session = _Session(conn)
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


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
