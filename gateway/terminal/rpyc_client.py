"""``RpycTerminal``: the terminal port over RPyC, to a restricted terminal server.

Each MT5 call is one round trip: ``root.call(function, args, kwargs_pairs)`` answers
``(encoded_result, (code, message))`` with ``last_error()`` taken in that same call. This module
turns the port's typed methods into such calls and decodes the answers (a failure value raises
``MT5Error``); the connection and its one thread are ``call_thread.py``, the handshake
(TLS, shared secret) ``connection.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np

from gateway.terminal.call_thread import CallThread
from gateway.terminal.codec import RemoteCallError, encode_call
from gateway.terminal.connection import (
    AuthenticationFailed,
    Session,
    TlsConfig,
    open_connection,
)
from gateway.terminal.errors import MT5Error, TerminalError
from gateway.terminal.port import Call, Record

__all__ = ["AuthenticationFailed", "RpycTerminal", "TlsConfig", "open_connection"]

MAX_BATCH_CALLS = 32  # calls per batch round trip; the terminal server's own cap is higher
# Functions whose failure value is False (the others fail with None; shutdown never fails).
_FALSE_ON_FAILURE = frozenset(
    ("initialize", "login", "symbol_select", "market_book_add", "market_book_release")
)


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
        self._thread = CallThread(
            name,
            host,
            port,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            secret=secret,
            tls=tls,
        )

    def __repr__(self) -> str:
        return f"RpycTerminal({self.name!r}, {self.host}:{self.port}, {self.state})"

    @property
    def state(self) -> Literal["connected", "disconnected"]:
        return self._thread.state

    @property
    def connects(self) -> int:
        """Successful connections so far (1 + reconnects)."""
        return self._thread.connects

    @property
    def last_error_at(self) -> float | None:
        """``time.time()`` of the last transport failure."""
        return self._thread.last_error_at

    # -- generic calls -------------------------------------------------------------------

    async def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return await self._call(function, args, kwargs)

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Every call in order, in one job of the call thread: one round trip per
        ``MAX_BATCH_CALLS`` calls (the terminal server refuses longer batches)."""
        wire = tuple(encode_call(fn, tuple(args), dict(kwargs)) for fn, args, kwargs in calls)

        def job(session: Session) -> list[Any]:
            answers: list[Any] = []
            for start in range(0, len(wire), MAX_BATCH_CALLS):
                answers.extend(session.batch(wire[start : start + MAX_BATCH_CALLS]))
            return [
                self._finish(fn, session, ans)
                for (fn, _, _), ans in zip(wire, answers, strict=True)
            ]

        return await self._thread.run(job)

    async def ping(self) -> None:
        """One round trip to the terminal server (not to the broker)."""
        await self._thread.run(lambda session: session.ping())

    async def broker_connected(self) -> bool:
        """Whether the terminal is connected to its broker (``terminal_info().connected``)."""
        return bool((await self.terminal_info())["connected"])

    async def close(self) -> None:
        await self._thread.close()

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
        return await self._thread.run(
            lambda session: self._finish(function, session, session.call(*wire)), timeout_s
        )

    def _finish(self, function: str, session: Session, answer: Any) -> Any:
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
        if exc.kind in ("ValueError", "Refused", "LimitExceeded"):  # the server's size caps
            return ValueError(text)
        return TerminalError(
            f"{function} raised {exc.kind} on the terminal: {exc.message}", terminal=self.name
        )


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
