"""Fill the ``MetaTrader5`` module: functions that call the current simulated terminal (so a
reset or a scenario swaps the terminal under code that imported the module long before), and
the package's constants, result types, ``__version__`` and ``__author__``."""

from __future__ import annotations

import functools
from typing import Any

from mt5sim.runtime import runtime
from simulator import constants
from simulator.module import AUTHOR, VERSION, constant_names
from simulator.structs import STRUCT_TYPES
from simulator.terminal import API_FUNCTIONS, HELPERS, SimulatedTerminal


def _forward(name: str) -> Any:
    template = getattr(SimulatedTerminal, name)

    @functools.wraps(template)
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(runtime().terminal, name)(*args, **kwargs)

    call.__module__ = "MetaTrader5"
    call.__qualname__ = name
    return call


def populate(namespace: dict[str, Any]) -> None:
    for name in (*API_FUNCTIONS, *HELPERS):
        namespace[name] = _forward(name)
    for name in constant_names():
        namespace[name] = getattr(constants, name)
    namespace.update(STRUCT_TYPES)
    namespace["__version__"] = VERSION
    namespace["__author__"] = AUTHOR
