"""A simulated MetaTrader 5 terminal: the MetaTrader5 package's functions, bound to a World.

One :class:`SimulatedTerminal` is one terminal process: a single IPC session, one logged-in
account at a time, one ``last_error()``. Its functions live in three groups, each in its own
module: the session (``api_session``), symbols and market data (``api_market``) and trading
(``api_trading``); ``api_core`` holds the calling conventions they share. Its test controls
(``controls``) act on the same :class:`~simulator.terminal_state.TerminalState`.

``hang_calls`` delays every API function except ``last_error()``, which the terminal server
reads after each call.
"""

from __future__ import annotations

from simulator.api_market import MarketFunctions
from simulator.api_session import (
    BUILD,
    RELEASE_DATE,
    TERMINAL_NAME,
    TERMINAL_VERSION,
    SessionFunctions,
)
from simulator.api_trading import TradingFunctions
from simulator.callers import CallerLog
from simulator.controls import TerminalControls
from simulator.terminal_state import TerminalState
from simulator.world import World

__all__ = [
    "API_FUNCTIONS",
    "BUILD",
    "HELPERS",
    "RELEASE_DATE",
    "TERMINAL_NAME",
    "TERMINAL_VERSION",
    "SimulatedTerminal",
]


class SimulatedTerminal(SessionFunctions, MarketFunctions, TradingFunctions):
    """One MT5 terminal: the MetaTrader5 functions as methods, plus :attr:`controls`."""

    def __init__(self, world: World, name: str = "sim-1") -> None:
        self._world = world
        self.name = name
        self._state = TerminalState()
        self.controls = TerminalControls(world, self._state)

    @property
    def caller_log(self) -> CallerLog:
        """Who called this terminal, when recording is on (``record_callers`` control)."""
        return self._state.callers


API_FUNCTIONS: tuple[str, ...] = (
    "initialize",
    "login",
    "shutdown",
    "version",
    "last_error",
    "account_info",
    "terminal_info",
    "symbols_total",
    "symbols_get",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "orders_total",
    "orders_get",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "positions_total",
    "positions_get",
    "history_orders_total",
    "history_orders_get",
    "history_deals_total",
    "history_deals_get",
)
HELPERS: tuple[str, ...] = ("Buy", "Sell", "Close")
