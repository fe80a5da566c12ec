"""`make bench`: run every benchmark in this folder, one after another, then write one report.

Each benchmark measures its subject against a baseline taken in the same run, prints its figures
as it goes, and hands them to the report (``BENCH_FIGURES_DIR``). At the end the report writer
(``report.py``) prints the whole report as Markdown and writes ``bench/report.json``: every figure
with its baseline, ratio, target and whether it was met, and the machine it ran on.

A benchmark that fails is reported as failed and the others still run; the exit status is that
of the first failure (targets missed are reported, not failures).

    .venv/bin/python bench/run.py [--only trade,read]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

BENCHES = {
    "protocol": ["protocol_bench.py"],
    "gateway": ["gateway_bench.py"],
    "trade": ["trade_bench.py"],
    "read": ["read_bench.py"],
    "load": ["load_bench.py"],
    "multi_account": ["multi_account_bench.py"],
    "broadcast": ["broadcast_bench.py"],
    "replicas": ["replicas_bench.py"],
    "stream": ["stream_bench.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--out", type=Path, default=HERE / "report.json")
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n] or list(BENCHES)
    load_at_start = os.getloadavg()
    failures: dict[str, int] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mt5gw-bench-figures-") as folder:
        env = {**os.environ, "BENCH_FIGURES_DIR": folder}
        for name in chosen:
            script, *script_args = BENCHES[name]
            path = HERE / script
            if not path.exists():
                print(f"== {name}: {script} not present, skipped", flush=True)
                continue
            print(f"== {name} ({script})", flush=True)
            began = time.monotonic()
            result = subprocess.run(
                [sys.executable, str(path), *script_args], cwd=HERE.parent, env=env
            )
            print(f"== {name}: {time.monotonic() - began:.0f} s", flush=True)
            if result.returncode != 0:
                print(f"== {name} failed with exit code {result.returncode}", flush=True)
                failures[name] = result.returncode
        print(f"== all benchmarks: {time.monotonic() - started:.0f} s\n", flush=True)
        report.write(report.build(Path(folder), load_at_start, failures), args.out)
    return next(iter(failures.values()), 0)


if __name__ == "__main__":
    sys.exit(main())
