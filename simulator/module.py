"""``make_module``: a ``MetaTrader5``-compatible module object backed by a simulated terminal.

Code written for the real package can use it unchanged::

    mt5 = make_module(SimulatedTerminal(World()))
    mt5.initialize(login=10001, password="demo-10001", server="Sim-Demo")
    mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, 100)
"""

from __future__ import annotations

import types

from simulator import constants
from simulator.structs import STRUCT_TYPES
from simulator.terminal import API_FUNCTIONS, HELPERS, SimulatedTerminal

VERSION = "5.0.6231"
AUTHOR = "MetaQuotes Ltd."


def constant_names() -> list[str]:
    """Every constant the package exports (the upper-case names of simulator.constants)."""
    return [name for name in vars(constants) if name.isupper()]


def make_module(terminal: SimulatedTerminal) -> types.ModuleType:
    """A fresh ``MetaTrader5`` module: functions bound to ``terminal``, constants, types.
    API functions record their callers while the terminal's caller log is on (``callers.py``)."""
    module = types.ModuleType("MetaTrader5", "Simulated MetaTrader5 package (mt5-gateway).")
    log = terminal.caller_log
    for name in API_FUNCTIONS:
        setattr(module, name, log.wrap(name, getattr(terminal, name)))
    for name in HELPERS:
        setattr(module, name, getattr(terminal, name))
    for name in constant_names():
        setattr(module, name, getattr(constants, name))
    for name, struct_type in STRUCT_TYPES.items():
        setattr(module, name, struct_type)
    module.__version__ = VERSION
    module.__author__ = AUTHOR
    return module
