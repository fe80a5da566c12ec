"""`make bench`: run every benchmark in this folder, one after another, and print their reports.

Each benchmark measures its subject against a baseline taken in the same run and prints ratios,
so the figures mean something on any machine. A benchmark that fails stops the run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["protocol_bench.py", "gateway_bench.py", "multi_account_bench.py"]


def main() -> int:
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            print(f"== {name}: not present, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        result = subprocess.run([sys.executable, str(path)], cwd=HERE.parent)
        if result.returncode != 0:
            print(f"== {name} failed with exit code {result.returncode}", flush=True)
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
