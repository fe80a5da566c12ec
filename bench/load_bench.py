"""Load benchmark: read and trade latency with 50, 200 and 500 concurrent clients, and read
throughput with 1, 4 and 16 terminals, each against one gateway process (loopback).

* Reads: wrk, every client a user of its own (tokens rotated per request), ``GET
  /account/info``, a few seconds per level; p50/p99, rate, and answers that were not 2xx (the
  pool answers 503 with Retry-After once its queue is full, 429 for a user over its share).
* Trades: ``bench/loadgen.py``, every client a user of its own opening a 0.01-lot position and
  closing it, a bounded number of pairs; p50/p99 of opens and closes and every status seen.
* Terminals: the simulator's terminal server with 1, 4 and 16 terminals, as many accounts,
  64 users spread over them; wrk reads for a few seconds each.

Users are stored with accounts of the simulator's bench profile (hedging, USD 10,000) spread
over the terminals, like tenants of one deployment.

    .venv/bin/python bench/load_bench.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
from benchlib import (
    Account,
    Figure,
    Figures,
    Gateway,
    machine_line,
    pct,
    seed_accounts,
    start_sim,
    stopping,
    wrk,
)
from server_process import TerminalServerProcess

FIRST_LOGIN = 30001
LEVELS = (50, 200, 500)


def tenants(users: int, accounts: int, prefix: str) -> list[Account]:
    return [
        Account(f"{prefix}-{j}", FIRST_LOGIN + j % accounts, f"bench-{FIRST_LOGIN + j % accounts}")
        for j in range(users)
    ]


def deployment(
    terminals: int, users: int, prefix: str
) -> tuple[TerminalServerProcess, Gateway, list[str]]:
    """A simulator with ``terminals`` terminals and as many accounts, a gateway with ``users``
    stored tenants over them; returns (sim, gateway, one token per user), warmed."""
    sim = start_sim(terminals=terminals, profile="bench", accounts=terminals)
    gateway = Gateway(sim.ports)
    try:
        people = tenants(users, terminals, prefix)
        seed_accounts(gateway.database_url, gateway.encryption_key, people)
        gateway.start()
        tokens = [gateway.token(p.user) for p in people]
        for token in tokens[:terminals] * 2:  # every account logged in before measuring
            headers = {"Authorization": f"Bearer {token}"}
            httpx.get(f"{gateway.url}/api/v1/account/info", headers=headers, timeout=120)
    except BaseException:
        gateway.stop()
        sim.stop()
        raise
    return sim, gateway, tokens


def drained(gateway: Gateway, bound_s: float = 120.0) -> None:
    """Wait until the pool has nothing queued or in progress: wrk stops sending at its deadline,
    but what it sent is still served, and would weigh on the next figure."""
    give_up = time.monotonic() + bound_s
    while time.monotonic() < give_up:
        text = httpx.get(f"{gateway.url}/metrics", timeout=30).text
        queued = re.search(r"^gateway_pool_queue_depth ([0-9.e+]+)$", text, re.M)
        busy = re.search(r"^gateway_pool_busy_terminals ([0-9.e+]+)$", text, re.M)
        if queued and busy and float(queued.group(1)) == 0 and float(busy.group(1)) == 0:
            return
        time.sleep(0.2)


def reads_under_load(figures: Figures, gateway: Gateway, tokens: list[str], seconds: int) -> None:
    for clients in LEVELS:
        drained(gateway)
        result = wrk(
            gateway.url, "/api/v1/account/info", tokens[:clients], connections=clients,
            seconds=seconds,
        )  # fmt: skip
        figures.add(
            Figure(
                "reads under load (4 terminals, one gateway process)",
                f"{clients} concurrent clients: account info p50",
                result.p50_ms,
                "ms",
                note=f"p99 {result.p99_ms:.1f} ms, {result.rate:.0f} req/s, "
                f"{result.errors} of {result.requests} not 2xx (503/429 with Retry-After "
                f"when the pool's queue is full), {result.socket_errors} socket errors",
                extra={**result.as_extra(), "clients": clients},
            )
        )


def trade_script(pairs: int) -> loadgen.Script:
    buy = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}

    async def script(
        conn: loadgen.Connection, record: Callable[[str, int, float, bool], None]
    ) -> None:
        for _ in range(pairs):
            status, data = await loadgen.timed_request(
                conn, record, "open", "POST", "/api/v1/trades", buy
            )
            if status != 200:
                continue
            ticket = json.loads(data)["ticket"]
            await loadgen.timed_request(
                conn, record, "close", "DELETE", f"/api/v1/positions/{ticket}"
            )

    return script


def trades_under_load(figures: Figures, gateway: Gateway, tokens: list[str]) -> None:
    for clients in LEVELS:
        drained(gateway)
        pairs = max(1, 200 // clients)
        result = asyncio.run(
            loadgen.run("127.0.0.1", gateway.port, tokens[:clients], trade_script(pairs))
        )
        statuses = dict(sorted(result.statuses().items()))
        with_retry = sum(1 for s in result.samples if s.status in (429, 503) and s.retry_after)
        refused = sum(1 for s in result.samples if s.status in (429, 503))
        rate = len(result.samples) / result.seconds if result.seconds else 0.0
        for kind in ("open", "close"):
            ok = result.latencies(kind)
            figures.add(
                Figure(
                    "trades under load (4 terminals, one gateway process)",
                    f"{clients} concurrent clients: market {kind} p50",
                    pct(ok, 0.5),
                    "ms",
                    note=f"p99 {pct(ok, 0.99):.1f} ms; statuses {statuses}; "
                    f"{refused} refused (429/503), {with_retry} of them with Retry-After; "
                    f"{rate:.0f} requests/s; transport errors {dict(result.errors)}",
                    extra={
                        "clients": clients,
                        "pairs_per_client": pairs,
                        "p99_ms": pct(ok, 0.99),
                        "statuses": {str(k): v for k, v in statuses.items()},
                        "transport_errors": dict(result.errors),
                        "requests_per_s": rate,
                    },
                )
            )


def terminal_sweep(figures: Figures, seconds: int) -> None:
    rates: dict[int, float] = {}
    for terminals in (1, 4, 16):
        sim, gateway, tokens = deployment(terminals, 64, f"sweep{terminals}")
        with stopping(sim, gateway):
            result = wrk(gateway.url, "/api/v1/account/info", tokens, connections=64,
                         seconds=seconds)  # fmt: skip
        rates[terminals] = result.rate
        figures.add(
            Figure(
                "throughput by terminals",
                f"{terminals} terminal(s), 64 clients: account reads per second",
                result.rate,
                "req/s",
                baseline=rates[1] if terminals > 1 else None,
                baseline_name="1 terminal, same run" if terminals > 1 else None,
                note=f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"{result.errors} not 2xx; {machine_line()}",
                extra={**result.as_extra(), "terminals": terminals},
            )
        )


def main(args: argparse.Namespace) -> int:
    figures = Figures("load")
    sim, gateway, tokens = deployment(4, max(LEVELS), "load")
    with stopping(sim, gateway):
        reads_under_load(figures, gateway, tokens, args.seconds)
        trades_under_load(figures, gateway, tokens)
    terminal_sweep(figures, args.seconds)
    figures.save()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    sys.exit(main(parser.parse_args()))
