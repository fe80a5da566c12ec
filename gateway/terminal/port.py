"""The one small port between the gateway and an MT5 terminal.

Every method is one round trip to the terminal server and returns plain values: named results as
``dict`` (field order as in the MetaTrader5 package), collections as ``list[dict]``, bars and ticks
as numpy structured arrays with the package's packed dtypes. Dates are epoch seconds in the
*broker server's* clock, exactly as the terminal speaks; converting to UTC is the gateway's job.
A function's failure value (None/False) raises ``MT5Error`` with the ``last_error()`` taken in the
same round trip. Calls to one terminal are strictly serialized by the implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

Record = dict[str, Any]
Call = tuple[str, tuple[Any, ...], dict[str, Any]]


class TerminalPort(Protocol):
    """What the gateway needs from a terminal. ``RpycTerminal`` implements it over RPyC."""

    name: str

    async def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Run one allow-listed MetaTrader5 function; dict arguments travel by value."""
        ...

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Run several functions in one round trip, in order, on the same terminal session."""
        ...

    async def account_info(self) -> Record: ...
    async def terminal_info(self) -> Record: ...
    async def login(self, login: int, password: str, server: str, timeout_ms: int) -> None: ...
    async def symbols_get(self, group: str | None = None) -> list[Record]: ...
    async def symbol_info(self, symbol: str) -> Record: ...
    async def symbol_info_tick(self, symbol: str) -> Record: ...
    async def symbol_select(self, symbol: str, enable: bool = True) -> None: ...
    async def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int
    ) -> np.ndarray: ...
    async def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: int, date_to: int
    ) -> np.ndarray: ...
    async def copy_ticks_from(
        self, symbol: str, date_from: int, count: int, flags: int
    ) -> np.ndarray: ...
    async def copy_ticks_range(
        self, symbol: str, date_from: int, date_to: int, flags: int
    ) -> np.ndarray: ...
    async def positions_get(
        self, *, symbol: str | None = None, ticket: int | None = None
    ) -> list[Record]: ...
    async def orders_get(
        self, *, symbol: str | None = None, ticket: int | None = None
    ) -> list[Record]: ...
    async def history_orders_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
    ) -> list[Record]: ...
    async def history_deals_get(
        self,
        date_from: int | None = None,
        date_to: int | None = None,
        *,
        ticket: int | None = None,
        position: int | None = None,
    ) -> list[Record]: ...
    async def order_check(self, request: Record) -> Record: ...
    async def order_send(self, request: Record) -> Record: ...
    async def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float
    ) -> float: ...
    async def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> float: ...
    async def close(self) -> None: ...
