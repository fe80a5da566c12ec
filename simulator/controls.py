"""Test and benchmark controls of a simulated terminal and its World.

They are not part of the MetaTrader5 API: the terminal server exposes them separately
(``exposed_control``) when it runs the simulator. Plain arguments, plain exceptions. The
controls get the World and the terminal's :class:`~simulator.terminal_state.TerminalState`,
nothing else, so they do not depend on the terminal class.
"""

from __future__ import annotations

from typing import Any

from simulator.terminal_state import Faults, TerminalState
from simulator.world import World


class TerminalControls:
    """Test and benchmark controls of one terminal and its World (not part of the MT5 API).

    Times are true-UTC epoch milliseconds (the clock); prices are in the symbol's units.
    """

    def __init__(self, world: World, state: TerminalState) -> None:
        self._world = world
        self._state = state

    def set_time(self, ms: int) -> None:
        self._world.clock.set(int(ms))

    def freeze_time(self, ms: int | None = None) -> None:
        self._world.clock.freeze(None if ms is None else int(ms))

    def unfreeze_time(self) -> None:
        self._world.clock.unfreeze()

    def advance_time(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("advance_time needs ms >= 0")
        self._world.clock.advance(int(ms))

    def push_price(self, server: str, symbol: str, bid: float, ask: float | None = None) -> Any:
        """Insert a tick at now on ``server`` ("" = the logged-in one); returns the Tick."""
        with self._world.lock:
            if not server:
                session = self._state.session
                if session is None:
                    raise ValueError("no account is logged in; name the server")
                server = session.server
            broker = self._world.brokers.get(server)
            if broker is None:
                raise ValueError(f"unknown server {server!r}")
            if broker.symbol(symbol) is None:
                raise ValueError(f"unknown symbol {symbol!r} on {server}")
            broker.market.push_price(symbol, float(bid), None if ask is None else float(ask))
            return broker.tick_info(symbol)

    def deposit(
        self, amount: float, login: int = 0, server: str = "", comment: str = "Deposit"
    ) -> Any:
        """A DEAL_TYPE_BALANCE deal of ``amount`` (> 0) now; returns the TradeDeal. ``login``
        0 and ``server`` "" mean the logged-in account."""
        return self._fund("balance", _positive(amount), login, server, comment)

    def withdraw(
        self, amount: float, login: int = 0, server: str = "", comment: str = "Withdrawal"
    ) -> Any:
        """A DEAL_TYPE_BALANCE deal of -``amount`` (``amount`` > 0, at most the free margin)."""
        return self._fund("balance", -_positive(amount), login, server, comment)

    def credit(
        self, amount: float, login: int = 0, server: str = "", comment: str = "Credit"
    ) -> Any:
        """A DEAL_TYPE_CREDIT deal of ``amount`` (< 0 takes credit back, never below 0)."""
        return self._fund("credit", float(amount), login, server, comment)

    def _fund(self, kind: str, amount: float, login: int, server: str, comment: str) -> Any:
        with self._world.lock:
            session = self._state.session
            if not server or not login:
                if session is None:
                    raise ValueError("no account is logged in; name the server and login")
                server, login = server or session.server, login or session.login
            broker = self._world.brokers.get(server)
            if broker is None:
                raise ValueError(f"unknown server {server!r}")
            if not broker.has_account(int(login)):
                raise ValueError(f"unknown login {login} on {server}")
            return broker.fund(int(login), kind, amount, str(comment))

    def set_login_delay(self, seconds: float) -> None:
        self._world.login_delay_s = _seconds(seconds)

    def hang_calls(self, seconds: float) -> None:
        """Every following API call sleeps ``seconds`` first, until hang_calls(0)."""
        self._state.faults.hang_s = _seconds(seconds)

    def fail_next_order_send(self, retcode: int) -> None:
        """The next order_send answers ``retcode`` (standard comment) and executes nothing."""
        self._state.faults.fail_next = int(retcode)

    def timeout_after_execute(self, seconds: float) -> None:
        """The next order_send executes, then sleeps ``seconds`` before answering."""
        self._state.faults.after_execute_s = _seconds(seconds)

    def set_broker_connected(self, connected: bool) -> None:
        self._state.faults.broker_connected = bool(connected)

    def set_algo_trading(self, enabled: bool) -> None:
        self._state.faults.algo_trading = bool(enabled)

    def set_tradeapi_disabled(self, disabled: bool) -> None:
        self._state.faults.tradeapi_disabled = bool(disabled)

    def record_callers(self, enabled: bool) -> None:
        """Start (clearing the record) or stop recording who calls this terminal, and when."""
        log = self._state.callers
        if enabled:
            log.clear()
        log.enabled = bool(enabled)

    def callers(self) -> list[tuple[int, str, int, int]]:
        """The calls recorded: (caller connection number, function, started_ns, ended_ns)."""
        return self._state.callers.entries()

    def reset(self) -> None:
        """Rebuild the World's brokers (same seed) and clear this terminal's flags and
        Market Watch; scheduled faults apply again when their time comes. The logged-in
        account stays logged in."""
        with self._world.lock:
            self._world.reset()
            self._state.faults = Faults()
            self._state.applied_faults.clear()
            self._state.clear_views()


def _positive(value: float) -> float:
    amount = float(value)
    if not amount > 0:
        raise ValueError("amount must be > 0")
    return amount


def _seconds(value: float) -> float:
    seconds = float(value)
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    return seconds
