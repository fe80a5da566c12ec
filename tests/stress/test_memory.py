"""The gateway's memory stays flat under a bounded mixed load (reads, bars, ticks, trades with
and without keys, errors): its RSS is sampled every second; growth is the median of the last
quarter against the median of the second (the first quarter warms caches, pools and compiled
statements). Ten minutes in ``make test-stress``, a short run in CI; the figures are kept in
tests/artifacts/stress-memory.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import loadgen
import pytest
from stress_support import Sim, gateway, report, rss_kb, size, stopping

SECONDS = size(24, 600)
CLIENTS = 16
GROWTH_LIMIT_KB = 32 * 1024  # plus 10 % of the warm size


def mixed(deadline: float) -> loadgen.Script:
    async def script(
        conn: loadgen.Connection, record: Callable[[str, int, float, bool], None]
    ) -> None:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            kind = step % 6
            if kind == 0:
                key = {"Idempotency-Key": uuid.uuid4().hex} if step % 12 == 0 else None
                buy = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}
                status, data = await loadgen.timed_request(
                    conn, record, "open", "POST", "/api/v1/trades", buy, key
                )
                if status == 200:
                    ticket = json.loads(data)["ticket"]
                    await loadgen.timed_request(
                        conn, record, "close", "DELETE", f"/api/v1/positions/{ticket}"
                    )
                continue
            path = (
                None,
                "/api/v1/account/info",
                "/api/v1/positions",
                "/api/v1/market-data/EURUSD?timeframe=H1&bars=2000",
                "/api/v1/ticks/EURUSD?count=500",
                "/api/v1/symbols/NOSUCH/tick",  # an error answer now and then
            )[kind]
            assert path is not None
            await loadgen.timed_request(conn, record, "read", "GET", path)

    return script


@pytest.mark.timeout(SECONDS + 300)
def test_gateway_memory_stays_flat_under_mixed_load() -> None:
    sim = Sim(terminals=2)
    gw = gateway(sim.ports)
    samples: list[int] = []
    with stopping(sim, gw):
        gw.start()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1.0):
                samples.append(rss_kb(gw.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tokens = [gw.token(f"mem-{i}") for i in range(CLIENTS)]
        deadline = time.monotonic() + SECONDS
        run = asyncio.run(
            loadgen.run("127.0.0.1", gw.port, tokens, mixed(deadline), deadline_s=SECONDS + 120)
        )
        stop.set()
        sampler.join(10)
    quarter = max(1, len(samples) // 4)
    warm = statistics.median(samples[quarter : 2 * quarter])
    last = statistics.median(samples[-quarter:])
    growth = last - warm
    report(
        "memory",
        {
            "seconds": SECONDS,
            "requests": len(run.samples),
            "statuses": {str(k): v for k, v in sorted(run.statuses().items())},
            "rss_kb_first": samples[0] if samples else None,
            "rss_kb_warm_median": warm,
            "rss_kb_last_median": last,
            "growth_kb": growth,
            "samples_kb": samples,
        },
    )
    assert len(samples) >= 8, "too few RSS samples"
    assert run.statuses()[200] > 0
    assert growth <= GROWTH_LIMIT_KB + warm * 0.10, f"RSS grew {growth} kB (warm {warm} kB)"
