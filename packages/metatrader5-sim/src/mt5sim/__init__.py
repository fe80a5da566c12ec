"""Controls of the simulated terminal behind ``import MetaTrader5`` (metatrader5-sim).

``sim()`` returns them; the pytest fixture ``mt5sim`` returns the same object after a reset::

    def test_buys_on_a_rise(mt5sim):
        mt5sim.push_price("EURUSD", 1.1700)
        mt5sim.advance(minutes=5)
        mt5sim.requote_next()

Times are ``datetime`` (a naive one is UTC), ISO-8601 text or epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mt5sim.runtime import runtime
from simulator.recordings import parse_time
from simulator.scenario import Scenario, load_scenario

__all__ = ["DEFAULT_START", "Sim", "sim"]

# Where the fixture freezes the clock unless a scenario says otherwise: a Wednesday noon UTC,
# when every demo market is open.
DEFAULT_START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _ms(moment: datetime | str | float) -> int:
    if isinstance(moment, datetime):
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    return parse_time(str(moment))


class Sim:
    """World, clock, prices and faults of the simulated terminal (not part of MetaTrader5)."""

    @property
    def terminal(self) -> Any:
        return runtime().terminal

    @property
    def world(self) -> Any:
        return runtime().world

    @property
    def scenario(self) -> Scenario | None:
        return runtime().scenario

    @property
    def _controls(self) -> Any:
        return runtime().terminal.controls

    # ---------------------------------------------------------------- world and scenarios
    def reset(self, scenario: str | Path | dict[str, Any] | Scenario | None = None,
              *, at: datetime | str | float | None = DEFAULT_START) -> None:  # fmt: skip
        """A fresh world: no trades, initial balances, logged into the default (or the
        scenario's) account, the clock frozen at the scenario's start, else at ``at``
        (None: running). Code that imported MetaTrader5 before sees the new terminal."""
        if scenario is not None and not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        runtime().load(scenario, None if at is None else _ms(at))

    def load_scenario(self, scenario: str | Path | dict[str, Any]) -> None:
        """Reset into a scenario file (JSON, or YAML with PyYAML) or mapping."""
        self.reset(scenario)

    def login(self, login: int, password: str, server: str | None = None) -> None:
        """Make the terminal logged into this account, as a saved account would."""
        self.terminal.start_logged_in(login, password, server)

    # ---------------------------------------------------------------- clock
    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.world.clock.now_ms() / 1000, UTC)

    def freeze(self, at: datetime | str | float | None = None) -> None:
        self._controls.freeze_time(None if at is None else _ms(at))

    def unfreeze(self) -> None:
        self._controls.unfreeze_time()

    def set_time(self, at: datetime | str | float) -> None:
        self._controls.set_time(_ms(at))

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0,
                days: float = 0) -> None:  # fmt: skip
        step = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        self._controls.advance_time(round(step.total_seconds() * 1000))

    # ---------------------------------------------------------------- prices
    def push_price(self, symbol: str, bid: float, ask: float | None = None) -> Any:
        """A tick at now (ask defaults to bid + the typical spread); later prices go on from
        it. Returns the Tick."""
        return self._controls.push_price("", symbol, bid, ask)

    # ---------------------------------------------------------------- faults
    def requote_next(self) -> None:
        """The next order_send answers 10004 (requote) and executes nothing."""
        self._controls.fail_next_order_send(10004)

    def fail_next(self, retcode: int) -> None:
        """The next order_send answers ``retcode`` and executes nothing."""
        self._controls.fail_next_order_send(retcode)

    def disconnect(self) -> None:
        """The broker link goes down: no quotes, trade requests answer 10031."""
        self._controls.set_broker_connected(False)

    def reconnect(self) -> None:
        self._controls.set_broker_connected(True)

    def timeout_after_execute(self, seconds: float) -> None:
        """The next order_send executes, then takes ``seconds`` to answer."""
        self._controls.timeout_after_execute(seconds)

    def set_algo_trading(self, enabled: bool) -> None:
        """The AlgoTrading button (off: order_send answers 10027)."""
        self._controls.set_algo_trading(enabled)

    def hang_calls(self, seconds: float) -> None:
        """Every following MetaTrader5 call sleeps ``seconds`` first (0 ends it)."""
        self._controls.hang_calls(seconds)


_SIM = Sim()


def sim() -> Sim:
    """The controls of this process's simulated terminal."""
    return _SIM
