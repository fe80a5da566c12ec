"""Debian's wrk as the benchmarks' load generator for reads: bounded by time, on loopback,
each request with the next token of a list (every client a user of its own)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

WRK_SCRIPT = """
local tokens = {}
local path = "/"
local i = 0
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  path = args[2]
  i = math.random(#tokens)
end
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. tokens[i]})
end
"""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers
    socket_errors: int

    def as_extra(self) -> dict[str, Any]:
        return asdict(self)


def _wrk_ms(text: str) -> float:
    number = float(text.rstrip("usm"))
    if text.endswith("us"):
        return number / 1000
    if text.endswith("ms"):
        return number
    return number * 1000  # seconds


def wrk(url: str, path: str, tokens: Sequence[str], *, connections: int, seconds: int,
        threads: int = 2) -> WrkResult:  # fmt: skip
    """Debian's wrk against ``url + path`` for ``seconds``, rotating ``tokens`` per request."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found (apt-get install -y wrk)")
    folder = Path(tempfile.mkdtemp(prefix="mt5gw-bench-wrk-"))
    try:
        (folder / "tokens.txt").write_text("\n".join(tokens) + "\n")
        (folder / "rotate.lua").write_text(WRK_SCRIPT)
        command = [binary, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
                   "--latency", "--timeout", "30s", "-s", str(folder / "rotate.lua"), url, "--",
                   str(folder / "tokens.txt"), path]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120).stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    latency: dict[str, float] = {}
    requests, duration, errors, socket_errors = 0, float(seconds), 0, 0
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("50%", "99%"):
            latency[words[0]] = _wrk_ms(words[1])
        elif "requests in" in line:
            requests = int(words[0])
            duration = float(words[3].rstrip(",s"))
        elif line.strip().startswith("Non-2xx"):
            errors = int(words[-1])
        elif line.strip().startswith("Socket errors"):
            socket_errors = sum(int(w.rstrip(",")) for w in words[3::2])
    if not requests:
        raise RuntimeError(f"wrk gave no figures:\n{out}")
    return WrkResult(
        requests=requests,
        seconds=duration,
        rate=requests / duration,
        p50_ms=latency.get("50%", float("nan")),
        p99_ms=latency.get("99%", float("nan")),
        errors=errors,
        socket_errors=socket_errors,
    )


def machine_line() -> str:
    """CPU model and cores, for figures whose meaning depends on them (throughput)."""
    model = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"
