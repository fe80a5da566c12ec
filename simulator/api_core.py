"""The calling machinery shared by every simulated MetaTrader5 function.

:func:`api` wraps a method with the package's calling convention for that function
(mt5-api-facts.md §1): NOARGS and POSITIONAL functions raise TypeError like the C extension,
argument problems set ``(-2, ...)`` and return None/False, and every call first resets
``last_error()`` to ``(1, 'Success')``. :class:`TerminalCore` is the state the functions work
on (the shared World, this terminal's :class:`TerminalState`) and the look-ups they share.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar

from simulator.arguments import (
    NO_IPC,
    SUCCESS,
    CallError,
    check_noargs,
    check_positional,
    symbol_arg,
)
from simulator.broker import Broker
from simulator.fault_schedule import apply_due
from simulator.terminal_state import Session, TerminalState
from simulator.world import World

NOARGS, POSITIONAL, KEYWORDS = "noargs", "positional", "keywords"
F = TypeVar("F", bound=Callable[..., Any])


def api(
    convention: str,
    failure: Any = None,
    *,
    ipc: bool = True,
    locked: bool = True,
) -> Callable[[F], F]:
    """Wrap an API method with the package's calling convention and last_error handling.

    ``locked=False`` bodies take ``World.lock`` themselves (they sleep: login, order_send).
    """

    def decorate(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        def call(self: TerminalCore, *args: Any, **kwargs: Any) -> Any:
            if convention == NOARGS:
                check_noargs(name, args, kwargs)
            elif convention == POSITIONAL:
                check_positional(name, kwargs)
            self._apply_scheduled_faults()
            self._wait_if_hung()
            state = self._state
            with self._world.lock if locked else nullcontext():
                state.error = SUCCESS
                try:
                    if ipc and not state.ipc:
                        raise CallError(*NO_IPC)
                    return fn(self, *args, **kwargs)
                except CallError as error:
                    state.error = (error.code, error.message)
                    return failure

        call.api_convention = convention  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate


class TerminalCore:
    """The World, this terminal's state and the look-ups every API function shares."""

    _world: World
    _state: TerminalState

    def _apply_scheduled_faults(self) -> None:
        schedule = self._world.fault_schedule
        if schedule:
            apply_due(schedule, self._state, self._world.clock.now_ms())

    def _wait_if_hung(self) -> None:
        if self._state.faults.hang_s > 0:
            time.sleep(self._state.faults.hang_s)

    def _require_session(self) -> Session:
        session = self._state.session
        if session is None or session.server not in self._world.brokers:
            raise CallError(-1)
        return session

    def _broker(self) -> Broker:
        return self._world.brokers[self._require_session().server]

    def _spec_name(self, broker: Broker, value: Any) -> str:
        name = symbol_arg(value)
        if broker.symbol(name) is None:
            raise CallError(-1)
        return name

    def _currency(self, broker: Broker) -> str:
        """The logged-in account's currency (SymbolInfo tick values are given in it)."""
        session = self._require_session()
        return broker.currency_of(session.login)

    def _require_feed(self) -> None:
        if not self._state.faults.broker_connected:
            raise CallError(-1)

    def _market_watch(self, broker: Broker) -> set[str]:
        server = broker.server.name
        selected = self._state.selected
        if server not in selected:
            selected[server] = {s.name for s in broker.symbols() if s.visible}
        return selected[server]
