"""The load and fault suite (``make test-stress``; a reduced size runs in ``make test``): its
helpers live in ``stress_support.py``, the load generator in ``bench/loadgen.py``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for extra in (HERE.parents[1] / "bench", HERE.parent / "terminal"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))  # appended: nothing here shadows another folder's modules
