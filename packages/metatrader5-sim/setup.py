"""Build-time guard: this distribution provides ``import MetaTrader5``, so building (and with
that, installing from source) on Windows, where the real MetaTrader5 package lives, stops here.
Everything else is in pyproject.toml."""

import sys

from setuptools import setup

if sys.platform == "win32":
    sys.exit(
        "metatrader5-sim refuses to install on Windows: it provides the module name "
        "MetaTrader5 and would replace the real MetaQuotes package. On Windows, install the "
        "real one (pip install MetaTrader5); use metatrader5-sim on Linux or macOS CI only."
    )

setup()
