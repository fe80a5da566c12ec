"""tests/bots: the docs-example programs in-process, and the sample bot's suite in a fresh venv.

The sample bot's own tests (``sample_bot/tests``) run only inside the venv that has the
``metatrader5-sim`` distribution installed (test_sample_bot.py), never in this process.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "examples"))

collect_ignore = ["sample_bot"]
