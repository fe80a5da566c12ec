"""PostgreSQL stopped and started again under load.

Readers of the configured account (their account resolved and cached before the outage) need
no database; traders with idempotency keys need the ledger. While the database is down every
trade answer is 503 (with Retry-After) or, for a call that had already sent, 504
``OUTCOME_UNKNOWN``; readers keep getting 200. Once it is back every key settles, with exactly
one order per filled key in the simulator's history.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import httpx
import loadgen
import pytest
from stress_support import (
    MAGIC_BASE,
    KeyOutcome,
    PostgresCluster,
    Sim,
    assert_one_order_per_key,
    gateway,
    history_orders,
    netting_order,
    pg_available,
    report,
    settle_key,
    size,
    stopping,
)

pytestmark = pytest.mark.needs_binary("postgres")

TRADERS = 6
READERS = 4


async def trade_until(
    port: int, tokens: list[str], stop: threading.Event, outcomes: list[KeyOutcome]
) -> None:
    """Each trader settles one key after another until ``stop`` (then finishes its key)."""

    async def trader(token: str) -> None:
        conn = loadgen.Connection("127.0.0.1", port, token)
        try:
            while not stop.is_set():
                outcome = KeyOutcome(f"db-{len(outcomes)}", MAGIC_BASE + len(outcomes))
                outcomes.append(outcome)
                deadline = time.monotonic() + 240
                await settle_key(conn, outcome, netting_order(outcome), deadline=deadline)
        finally:
            await conn.close()

    await asyncio.gather(*(trader(t) for t in tokens))


class Readers:
    """Account reads in threads until stopped; statuses counted per phase of the outage."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url, self.phase = url, "before"
        self.seen: Counter[str] = Counter()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in tokens]

    def start(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _run(self, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                status = client.get("/api/v1/account/info").status_code
                self.seen[f"{self.phase}:{status}"] += 1


@pytest.mark.timeout(size(300, 900))
def test_postgres_down_then_back_under_load() -> None:
    if not pg_available():
        pytest.skip("PostgreSQL binaries not found")
    cluster = PostgresCluster()
    cluster.set_fsync(False)  # this test is about availability, not the disk
    sim = Sim(terminals=1)
    gw = gateway(sim.ports, database_url=cluster.new_database(), default_login=10003)
    with stopping(cluster, sim, gw):
        gw.start()
        reader_tokens = [gw.token(f"reader-{i}") for i in range(READERS)]
        for token in reader_tokens:  # resolved and cached before the outage
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{gw.url}/api/v1/account/info", headers=headers).status_code == 200
        readers = Readers(gw.url, reader_tokens).start()
        outcomes: list[KeyOutcome] = []
        trader_tokens = [gw.token(f"trader-{i}") for i in range(TRADERS)]
        stop = threading.Event()
        traders = threading.Thread(
            target=lambda: asyncio.run(trade_until(gw.port, trader_tokens, stop, outcomes)),
            daemon=True,
        )
        traders.start()
        time.sleep(size(1.0, 3.0))
        cluster.halt()
        readers.phase = "down"
        time.sleep(size(2.0, 8.0))
        during = Counter(s for o in list(outcomes) for s in o.seen.elements())
        cluster.resume()
        readers.phase = "after"
        time.sleep(size(1.0, 3.0))
        stop.set()
        traders.join(300)
        readers.finish()
        orders = [
            o
            for o in history_orders(sim.ports[0], 10003, "demo-10003")
            if int(o["magic"]) >= MAGIC_BASE
        ]
    trades = Counter(s for o in outcomes for s in o.seen.elements())
    report(
        "database-outage",
        {"readers": dict(readers.seen), "trades": {str(k): v for k, v in trades.items()}},
    )
    assert not traders.is_alive(), "traders did not finish"
    reads_down = {k: v for k, v in readers.seen.items() if k.startswith("down:")}
    assert set(reads_down) == {"down:200"}, dict(readers.seen)
    assert set(trades) <= {200, 409, 503, 504}, dict(trades)
    assert during[503] + during[504] > 0, f"the outage was never noticed: {dict(during)}"
    assert not sum(o.missing_retry_after for o in outcomes)
    assert_one_order_per_key(outcomes, orders)
