"""200 concurrent clients for a bounded time: every answer is a success or one of the documented
refusals, 429 (a user over its share) or 503 (the pool's queue full), each with Retry-After.

Twenty users share the 200 connections, so some users run past their share (8 at once) and the
pool's queue is kept small, so both refusals happen; reads, bars, ticks and trades are mixed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable

import loadgen
import pytest
from stress_support import Sim, gateway, report, size, stopping

CLIENTS = 200
USERS = 20
SECONDS = size(3, 20)
ALLOWED = {200, 201, 429, 503}


def mixed(deadline: float) -> loadgen.Script:
    async def script(
        conn: loadgen.Connection, record: Callable[[str, int, float, bool], None]
    ) -> None:
        step = 0
        while time.monotonic() < deadline:
            step += 1
            if step % 5 == 0:
                buy = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}
                status, data = await loadgen.timed_request(
                    conn, record, "open", "POST", "/api/v1/trades", buy
                )
                if status == 200:
                    ticket = json.loads(data)["ticket"]
                    await loadgen.timed_request(
                        conn, record, "close", "DELETE", f"/api/v1/positions/{ticket}"
                    )
                continue
            path = (
                "/api/v1/account/info",
                "/api/v1/positions",
                "/api/v1/market-data/EURUSD?timeframe=M5&bars=500",
                "/api/v1/symbols/EURUSD/tick",
            )[step % 4]
            await loadgen.timed_request(conn, record, "read", "GET", path)

    return script


@pytest.mark.timeout(size(240, 600))
def test_200_clients_get_answers_or_documented_refusals() -> None:
    sim = Sim(terminals=2)
    gw = gateway(sim.ports, POOL_QUEUE_LIMIT="128")
    with stopping(sim, gw):
        gw.start()
        tokens = [gw.token(f"load-{i % USERS}") for i in range(CLIENTS)]
        deadline = time.monotonic() + SECONDS
        run = asyncio.run(
            loadgen.run("127.0.0.1", gw.port, tokens, mixed(deadline), deadline_s=SECONDS + 120)
        )
    statuses = run.statuses()
    unexpected = {s: n for s, n in statuses.items() if s not in ALLOWED}
    refusals = [s for s in run.samples if s.status in (429, 503)]
    without_retry_after = [s for s in refusals if not s.retry_after]
    report(
        "load-limits",
        {
            "clients": CLIENTS,
            "seconds": SECONDS,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "by_kind": dict(Counter(s.kind for s in run.samples)),
            "transport_errors": dict(run.errors),
        },
    )
    assert run.samples, "no request was answered"
    assert not run.errors, f"transport errors: {dict(run.errors)}"
    assert not unexpected, f"answers outside 2xx/429/503: {unexpected}"
    assert not without_retry_after, f"{len(without_retry_after)} refusals without Retry-After"
    assert statuses[200] > 0
