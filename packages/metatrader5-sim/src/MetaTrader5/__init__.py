"""The simulated ``MetaTrader5`` package (metatrader5-sim), for Linux test suites.

Same functions, constants and result types as MetaQuotes' package, backed by an in-process
simulated terminal (``mt5sim.sim()`` controls it). It refuses to load on Windows.
"""

import sys

if sys.platform == "win32":
    raise ImportError(
        "this MetaTrader5 is metatrader5-sim, the simulator for Linux test suites; on Windows "
        "use the real package: pip uninstall metatrader5-sim && pip install MetaTrader5"
    )

from mt5sim.module import populate

populate(globals())
del populate, sys
