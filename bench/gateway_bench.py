"""Gateway benchmark: what HTTP, auth and JSON add on top of the raw terminal call.

One run starts a simulator terminal server (bench profile: 2,000+ symbols), a real gateway
(uvicorn, one worker) pointed at it, and measures each endpoint against the raw terminal call it
makes, taken through our own RPyC client in the same run:

* ``GET /api/v1/account/info`` p50 against ``account_info()``: the overhead (target < 1.5 ms);
* 10,000 H1 bars end to end against ``copy_rates_from_pos`` (target p50 < 40 ms);
* ``GET /api/v1/symbols?details=true`` (full specs, 2,000+ symbols) against ``symbols_get()``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "terminal"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import Figure, Figures  # noqa: E402
from server_process import free_ports, start_terminal_server  # noqa: E402

from gateway.terminal.rpyc_client import RpycTerminal  # noqa: E402

H1 = 16385
LOGIN, PASSWORD, SERVER = 10001, "demo-10001", "Sim-Demo"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def time_sync(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm caches
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


async def raw_figures(port: int) -> dict[str, list[float]]:
    terminal = RpycTerminal("bench", "127.0.0.1", port)
    await terminal.call("initialize")
    await terminal.login(LOGIN, PASSWORD, SERVER, 60_000)

    async def timed(make: Callable[[], object], runs: int) -> list[float]:
        await make()  # type: ignore[misc]
        out = []
        for _ in range(runs):
            start = time.perf_counter()
            await make()  # type: ignore[misc]
            out.append(time.perf_counter() - start)
        return out

    figures = {
        "account": await timed(terminal.account_info, 300),
        "bars": await timed(lambda: terminal.copy_rates_from_pos("EURUSD", H1, 0, 10_000), 30),
        "symbols": await timed(terminal.symbols_get, 5),
    }
    await terminal.close()
    return figures


def start_gateway(terminal_port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "TERMINALS": f"bench=127.0.0.1:{terminal_port}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'gateway.db'}",
        "DEV_SECRETS_FILE": str(workdir / "dev-secrets.json"),
        "DEFAULT_ACCOUNT_LOGIN": str(LOGIN),
        "DEFAULT_ACCOUNT_PASSWORD": PASSWORD,
        "DEFAULT_ACCOUNT_SERVER": SERVER,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'terminal-image'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=workdir, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None:
            raise SystemExit(f"gateway exited with {proc.returncode}")
        time.sleep(0.1)
    token = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dev_token.py")],
        cwd=workdir, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return proc, port, token


def gateway_figures(port: int, token: str) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:

        def get(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path)
                response.raise_for_status()
                return response

            return call

        return {
            "account": time_sync(get("/api/v1/account/info"), 300),
            "bars": time_sync(get("/api/v1/market-data/EURUSD?timeframe=H1&bars=10000"), 30),
            "symbols": time_sync(get("/api/v1/symbols?details=true"), 5),
        }


def main() -> int:
    server = start_terminal_server(extra_args=["--profile", "bench"])
    try:
        raw = asyncio.run(raw_figures(server.port))
        with tempfile.TemporaryDirectory() as tmp:
            proc, port, token = start_gateway(server.port, Path(tmp))
            try:
                http = gateway_figures(port, token)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        server.stop()
    rows = [
        ("GET /api/v1/account/info", "account", "account_info()"),
        ("10,000 H1 bars", "bars", "copy_rates_from_pos(10,000)"),
        ("GET /api/v1/symbols?details=true", "symbols", "symbols_get()"),
    ]
    print("gateway (uvicorn, 1 worker) vs the raw terminal call, p50 over loopback")
    for label, key, raw_label in rows:
        g, r = p50_ms(http[key]), p50_ms(raw[key])
        print(
            f"  {label:<34} {g:9.2f} ms   raw {raw_label:<28} {r:9.2f} ms"
            f"   overhead {g - r:8.2f} ms   ratio {g / r:5.2f}x"
        )
    overhead = p50_ms(http["account"]) - p50_ms(raw["account"])
    bars = p50_ms(http["bars"])
    print(f"  account/info overhead {overhead:.2f} ms (target < 1.5 ms)")
    print(f"  10,000 H1 bars end to end {bars:.1f} ms (target < 40 ms)")
    figures = Figures("gateway")
    section = "gateway (bench profile: 2,000+ symbols)"
    figures.add(
        Figure(
            section,
            "GET /api/v1/account/info p50",
            p50_ms(http["account"]),
            "ms",
            baseline=p50_ms(raw["account"]),
            baseline_name="raw account_info() p50",
            target_kind="over_baseline",
            target=1.5,
        )
    )
    figures.add(
        Figure(
            section,
            "10,000 H1 bars end to end p50 (httpx defaults)",
            bars,
            "ms",
            baseline=p50_ms(raw["bars"]),
            baseline_name="raw copy_rates_from_pos(10,000) p50",
            target_kind="max",
            target=40.0,
        )
    )
    figures.add(
        Figure(
            section,
            "GET /api/v1/symbols?details=true p50",
            p50_ms(http["symbols"]),
            "ms",
            baseline=p50_ms(raw["symbols"]),
            baseline_name="raw symbols_get() p50",
        )
    )
    figures.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
