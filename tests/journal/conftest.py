"""The journal runs on the trading suite's gateway (SQLite, and PostgreSQL with a simulator of
its own): its fixtures are loaded here by path, as that suite loads the store's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "trading"))

_spec = importlib.util.spec_from_file_location(
    "trading_fixtures", HERE.parent / "trading" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
trading = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trading)

# Every fixture of that suite (pytest keeps fixtures per directory, so they are re-bound here).
globals().update(
    {k: v for k, v in vars(trading).items() if type(v).__name__ == "FixtureFunctionDefinition"}
)
token_of = trading._token
