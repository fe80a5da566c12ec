"""Stream benchmark (``make bench``): how fast a change reaches many readers.

One run starts a simulator terminal server, a real gateway with the stream (uvicorn, one worker,
its own process) and, in this process, the clients:

* **quotes**: WebSocket subscribers, each on the same 10 symbols, first 1 (the baseline), then
  1,000. Prices are pushed in the simulator; for every quote a subscriber receives, the latency
  is the receipt time minus the hub's observation (``observed_ms``: when its poll read the
  tick). p50 and p99 (target: p99 <= 50 ms with 1,000). Both clocks are this machine's, and
  the 1,000 readers share this one process and its event loop with each other: on 2 cores
  their own reading is part of the figure.
* **webhook fill**: a market order through ``POST /api/v1/trades``, then the time until its
  ``deal.added`` webhook arrives at a local receiver, p50 and p99. It includes the account poll
  interval (``STREAM_ACCOUNT_INTERVAL_S``, 1 s by default), which dominates it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTS = ROOT / "tests"
for extra in (ROOT, HERE, TESTS / "stream", TESTS / "gateway", TESTS / "terminal"):
    sys.path.insert(0, str(extra))

from benchlib import Figure, Figures  # noqa: E402
from helpers import HS256_SECRET, JwksServer, claims, free_port, new_es256, sign  # noqa: E402
from server_process import start_terminal_server  # noqa: E402
from sim_control import SimControl  # noqa: E402
from stream_support import FROZEN_MS, TRADER, seed  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from gateway.store.crypto import Keyring, generate_key  # noqa: E402

SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "1000"))
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF", "USDCAD", "GBPJPY", "EURJPY",
           "EURGBP", "XAUUSD"]  # fmt: skip
ROUNDS = 15
COMPRESSION = None if os.environ.get("BENCH_COMPRESSION") == "off" else "deflate"
FILLS = 30
PER_USER = 500  # subscribers per user
READER_USERS = -(-SUBSCRIBERS // PER_USER)  # single-tenant users: quotes of the configured account
ACCOUNT_INTERVAL_S = 1.0  # the default


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_gateway(
    jwks: JwksServer, terminal_port: int, workdir: Path
) -> tuple[subprocess.Popen[bytes], int]:
    key = generate_key("k1")
    url = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
    asyncio.run(seed(url, Keyring.parse(key)))
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SUPABASE_URL": jwks.supabase_url,
        "SUPABASE_JWT_SECRET": HS256_SECRET,
        "TERMINALS": f"t1=127.0.0.1:{terminal_port}",
        "SERVER_UTC_OFFSETS": "Sim-Demo=7200",
        "DATABASE_URL": url,
        "MT5_ENCRYPTION_KEYS": key,
        "ALLOWED_USER_IDS": ",".join(["single-1", *(f"reader-{n}" for n in range(READER_USERS))]),
        "LOG_LEVEL": "WARNING",
        "STREAM_MAX_CONNECTIONS_PER_USER": str(PER_USER),
        "STREAM_ACCOUNT_INTERVAL_S": str(ACCOUNT_INTERVAL_S),
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'terminal-image'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=workdir, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code < 500:
                return proc, port
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"gateway exited with {proc.returncode}")
        time.sleep(0.2)
    raise SystemExit("gateway did not start")


async def quotes_bench(
    port: int, tokens: list[str], control: SimControl, subscribers: int
) -> list[float]:
    """``subscribers`` connections, spread over the users of ``tokens`` (a user may hold
    ``PER_USER`` at most)."""
    url = f"ws://127.0.0.1:{port}/api/v1/stream"
    latencies: list[float] = []
    latest: list[dict[str, float]] = [{} for _ in range(subscribers)]
    progress = asyncio.Event()
    sockets = []
    for index in range(subscribers):
        ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {tokens[index % len(tokens)]}"},
            open_timeout=60,
            max_queue=None,
            compression=COMPRESSION,
        )
        await ws.recv()  # authenticated
        await ws.send(
            json.dumps({"type": "subscribe", "id": 1, "channel": "quotes", "symbols": SYMBOLS})
        )
        sockets.append(ws)

    async def read(index: int, ws: Any) -> None:
        async for frame in ws:
            received = time.time() * 1000
            data = json.loads(frame)
            for message in data if isinstance(data, list) else [data]:
                if message.get("type") == "quote":
                    if measuring_flag[0]:
                        latencies.append(received - message["observed_ms"])
                    latest[index][message["symbol"]] = message["bid"]
                    if not measuring_flag[0]:
                        progress.set()
                elif message.get("type") == "error":
                    raise SystemExit(f"stream error: {message}")

    measuring_flag = [False]
    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
    bids = await _current_bids(latest, progress)
    measuring_flag[0] = True
    for round_ in range(ROUNDS):
        for symbol in SYMBOLS:
            moved = round(bids[symbol] * (1.0005 if round_ % 2 == 0 else 0.9995), 5)
            tick = await asyncio.to_thread(  # the readers keep reading meanwhile
                control.push_price, server="Sim-Demo", symbol=symbol, bid=moved
            )
            bids[symbol] = float(tick["bid"])  # as the symbol's digits round it
        deadline = time.monotonic() + 60
        while not all(all(seen.get(s) == bids[s] for s in SYMBOLS) for seen in latest):
            if time.monotonic() > deadline:
                raise SystemExit("the pushed prices did not reach every subscriber")
            await asyncio.sleep(0.05)  # checking on every message would slow the readers
        await asyncio.sleep(0.3)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return latencies


async def _current_bids(
    latest: list[dict[str, float]], progress: asyncio.Event
) -> dict[str, float]:
    while not all(len(seen) == len(SYMBOLS) for seen in latest):
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), 120)
        except TimeoutError:
            missing = [
                sorted(set(SYMBOLS) - set(seen)) for seen in latest if len(seen) < len(SYMBOLS)
            ]
            raise SystemExit(
                f"{len(missing)} subscribers lack quotes, e.g. {missing[:3]}"
            ) from None
    return dict(latest[0])


def webhook_bench(port: int, token: str) -> list[float]:
    arrivals: dict[str, float] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            now = time.time()
            data = json.loads(body)
            if data["type"] == "deal.added":
                with lock:
                    arrivals.setdefault(str(data["data"]["data"]["deal"]["order"]), now)
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    headers = {"Authorization": f"Bearer {token}"}
    latencies = []
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1", headers=headers, timeout=60
    ) as http:
        hook = http.post(
            "/webhooks", json={"url": f"http://127.0.0.1:{receiver.server_address[1]}/"}
        )
        hook.raise_for_status()
        time.sleep(2)  # the hub starts following the account
        for i in range(FILLS):
            side = "buy" if i % 2 == 0 else "sell"
            answer = http.post(
                "/trades", json={"symbol": "EURUSD", "order_type": side, "volume": 0.01}
            )
            filled = time.time()
            answer.raise_for_status()
            order = str(answer.json()["order"])
            deadline = time.monotonic() + 30
            while order not in arrivals and time.monotonic() < deadline:
                time.sleep(0.005)
            latencies.append((arrivals[order] - filled) * 1000)
    receiver.shutdown()
    return latencies


def main() -> int:
    figures = Figures("stream")
    section = "stream (1 gateway, 1 terminal, WebSocket clients in one process)"
    jwks = JwksServer(keys=[new_es256("es-1")])
    expiry = int(time.time()) + 7200
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=TRADER, exp=expiry))
    readers = [  # each user within STREAM_MAX_CONNECTIONS_PER_USER
        sign(jwks.keys[0], claims(jwks.issuer, sub=f"reader-{n}", exp=expiry))
        for n in range(READER_USERS)
    ]
    server = start_terminal_server()
    try:
        with SimControl(server.host, server.port) as control, tempfile.TemporaryDirectory() as tmp:
            control.freeze_time(ms=FROZEN_MS)  # prices move only when pushed
            proc, port = start_gateway(jwks, server.port, Path(tmp))
            try:
                one = asyncio.run(quotes_bench(port, readers, control, 1))
                many = asyncio.run(quotes_bench(port, readers, control, SUBSCRIBERS))
                pushes = f"{ROUNDS} pushes of {len(SYMBOLS)} symbols"
                for name, q in (("p50", 0.5), ("p99", 0.99)):
                    figures.add(
                        Figure(
                            section,
                            f"quote, hub observation -> receipt, {SUBSCRIBERS:,} subscribers "
                            f"{name}",
                            pct(many, q),
                            "ms",
                            baseline=pct(one, q),
                            baseline_name=f"the same with 1 subscriber {name}",
                            target_kind="max" if name == "p99" else "info",
                            target=50.0 if name == "p99" else None,
                            note=f"{pushes}; {len(many):,} quotes received",
                        )
                    )
                fills = webhook_bench(port, token)
                for name, q in (("p50", 0.5), ("p99", 0.99)):
                    figures.add(
                        Figure(
                            section,
                            f"market order filled -> its deal.added webhook received {name}",
                            pct(fills, q),
                            "ms",
                            baseline=ACCOUNT_INTERVAL_S * 1000,
                            baseline_name="the account poll interval (STREAM_ACCOUNT_INTERVAL_S)",
                            note=f"{len(fills)} fills; the poll interval bounds it",
                        )
                    )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        server.stop()
        jwks.close()
    figures.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
