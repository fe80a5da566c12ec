"""The one simulated terminal behind ``import MetaTrader5`` in this process.

It starts with the demo world (or the scenario named by ``$MT5SIM_SCENARIO``), logged into the
demo account 10001 (or the scenario's ``login``), its clock running in real time as a terminal's
does. The pytest fixture replaces it with a fresh one, clock frozen, for every test.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from simulator.catalog import DEMO_SERVER
from simulator.scenario import Scenario, load_scenario
from simulator.terminal import SimulatedTerminal
from simulator.world import World

DEFAULT_LOGIN = (10001, "demo-10001", DEMO_SERVER)


class Runtime:
    """The current World, terminal and scenario of this process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.scenario: Scenario | None = None
        self.world: World
        self.terminal: SimulatedTerminal
        source = os.environ.get("MT5SIM_SCENARIO")
        self.load(load_scenario(source) if source else None, freeze_at_ms=None)

    def load(self, scenario: Scenario | None, freeze_at_ms: int | None) -> None:
        """A fresh world and terminal for ``scenario`` (None: the demo world); the clock is
        frozen at the scenario's start, else at ``freeze_at_ms`` (None: it runs)."""
        with self.lock:
            world = scenario.world() if scenario is not None else World()
            if (scenario is None or scenario.start_ms is None) and freeze_at_ms is not None:
                world.clock.freeze(freeze_at_ms)
            terminal = SimulatedTerminal(world, name="sim-1")
            if scenario is not None and scenario.login is not None:
                scenario.start(terminal)
            else:
                terminal.start_logged_in(*DEFAULT_LOGIN)
            self.scenario, self.world, self.terminal = scenario, world, terminal


_runtime: Runtime | None = None
_guard = threading.Lock()


def runtime() -> Runtime:
    global _runtime
    with _guard:
        if _runtime is None:
            _runtime = Runtime()
        return _runtime


def current_terminal() -> Any:
    return runtime().terminal
