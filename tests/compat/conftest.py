"""tests/compat: the mt5linux client matrix in cached venvs (see venvs.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
