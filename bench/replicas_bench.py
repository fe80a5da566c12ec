"""Several gateway replicas (issue 17): read throughput with one and two replicas on the same
four terminals, what forwarding costs against moving a lease, and failover time.

One simulator terminal server with four terminals (logins take ``LOGIN_DELAY_S``, as a switch
costs a real terminal), one PostgreSQL cluster, four users with one account each; every replica
is a real ``uvicorn`` process with ``REPLICA_LEASES`` on. All figures are same-run ratios:

* reads/s through two replicas against one replica holding all four terminals (wrk, loopback):
  with a load balancer spreading each user over both (half of the requests are forwarded), and
  with each user sent to the replica holding its account (nothing forwarded);
* an account read p50 through the replica that does not hold the account (forwarded) against
  through the one that does, and the price of the alternative, moving the lease: release and
  take-over in the store plus the new holder's login, measured separately here;
* failover after SIGKILL of one replica: until a read of one of its accounts is served by the
  survivor, and until its terminals are back in rotation (leases taken), against the TTL.

    .venv/bin/python bench/replicas_bench.py [--seconds 8] [--ttl 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import (  # noqa: E402
    ROOT,
    Account,
    Figure,
    Figures,
    Gateway,
    PostgresCluster,
    machine_line,
    p50,
    seed_accounts,
    start_sim,
    stopping,
    wrk,
)

TERMINALS = 4
LOGIN_DELAY_S = 0.25
FIRST_LOGIN = 30001
CONNECTIONS = 8  # in all, whatever the number of replicas: never over a user's share of 8
SECRET = "bench-replica-secret-" + "s" * 24
MOVED = {"t": "bench-move"}
SECTION = "replicas (4 terminals, 4 accounts, PostgreSQL)"


class Replica(Gateway):
    """A gateway process with terminal leases (``REPLICA_LEASES=true``)."""

    def __init__(self, name: str, ports: list[int], database_url: str, key: str, **kw: Any):
        super().__init__(ports, database_url=database_url, encryption_key=key, **kw)
        self.name = name
        self.env.update(
            REPLICA_LEASES="true",
            REPLICA_ID=name,
            REPLICA_ADDRESS=self.url,
            REPLICA_SECRET=SECRET,
            PYTHONPATH=f"{ROOT}:{ROOT / 'terminal-image'}",
        )


def holders(cluster: PostgresCluster, database: str) -> dict[str, tuple[str | None, str | None]]:
    """terminal → (live holder, account it holds)."""
    rows = cluster.sql(
        "SELECT terminal, owner, account, (owner IS NOT NULL AND expires_at > now()) AS live"
        " FROM terminal_leases",
        database,
    )
    return {r["terminal"]: (r["owner"] if r["live"] else None, r["account"]) for r in rows}


def wait(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.02) -> Any:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise RuntimeError(f"timed out: {what}")


def warm(replica: Replica, tokens: list[str]) -> None:
    """Each account read once through ``replica`` (logs it in somewhere)."""
    for token in tokens:
        response = httpx.get(
            f"{replica.url}/api/v1/account/info",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        response.raise_for_status()


def spread(
    replicas: list[Replica], tokens: list[str] | list[list[str]], seconds: int
) -> dict[str, Any]:
    """wrk against every replica at once, each with its share of the connections and the
    tokens given (one list for all, or a list per replica)."""
    results: list[Any] = [None] * len(replicas)
    per = [tokens] * len(replicas) if isinstance(tokens[0], str) else tokens

    def run(i: int) -> None:
        results[i] = wrk(
            replicas[i].url,
            "/api/v1/account/info",
            per[i],
            connections=CONNECTIONS // len(replicas),
            seconds=seconds,
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "rate": sum(r.rate for r in results),
        "errors": sum(r.errors + r.socket_errors for r in results),
        "p50_ms": max(r.p50_ms for r in results),
    }


def latencies(url: str, token: str, served_by: str, runs: int = 200) -> list[float]:
    """Sequential account reads; each must have been served by ``served_by``."""
    samples = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for _ in range(runs):
            started = time.perf_counter()
            response = http.get(url + "/api/v1/account/info")
            samples.append(time.perf_counter() - started)
            response.raise_for_status()
            if response.headers.get("x-mt5gw-replica") != served_by:
                raise RuntimeError("the account moved during the measurement")
    return samples


def lease_move_ms(database_url: str, runs: int = 50) -> float:
    """p50 of moving a lease in the store: the holder releases it, another takes it (two
    transactions, what the store part of a move costs; the drain and the login come on top)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from gateway.db import normalize_url
    from gateway.replicas import leases

    async def run() -> float:
        engine = create_async_engine(normalize_url(database_url))
        try:
            async with engine.begin() as conn:
                await leases.ensure(conn, {"bench-move": None})
                await leases.acquire(conn, "mover-1", ["bench-move"], 60)
            samples, holder = [], "mover-1"
            for _ in range(runs):
                other = "mover-2" if holder == "mover-1" else "mover-1"
                started = time.perf_counter()
                async with engine.begin() as conn:
                    await leases.release(conn, holder, ["bench-move"])
                async with engine.begin() as conn:
                    taken = await leases.acquire(conn, other, ["bench-move"], 60)
                samples.append(time.perf_counter() - started)
                assert taken == ["bench-move"]
                holder = other
            return p50(samples)  # ms
        finally:
            async with engine.begin() as conn:
                await conn.execute(
                    text("DELETE FROM terminal_leases WHERE terminal = 'bench-move'")
                )
            await engine.dispose()

    return asyncio.run(run())


def failover(
    cluster: PostgresCluster, database: str, a: Replica, b: Replica, token_of: dict[str, str]
) -> dict[str, float]:
    """SIGKILL ``a``; seconds until a read of one of its accounts is served through ``b``, and
    until ``b`` holds all the terminals."""
    board = holders(cluster, database)
    resident = [acc for owner, acc in board.values() if owner == a.name and acc]
    token = token_of[resident[0]]
    killed = time.monotonic()
    a.kill()
    served_s = None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while served_s is None:
            try:
                if http.get(b.url + "/api/v1/account/info").status_code == 200:
                    served_s = time.monotonic() - killed
            except httpx.HTTPError:
                time.sleep(0.02)
    wait(
        lambda: all(owner == b.name for owner, _ in holders(cluster, database).values()),
        120,
        "the survivor holding every terminal",
    )
    return {"served_s": served_s, "terminals_s": time.monotonic() - killed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--ttl", type=float, default=5.0)
    args = parser.parse_args()
    from gateway.store.crypto import generate_key

    sim = start_sim(TERMINALS, profile="bench", accounts=TERMINALS, login_delay=LOGIN_DELAY_S)
    cluster = PostgresCluster()
    processes: list[Any] = [sim, cluster]
    try:
        url = cluster.new_database()
        database = url.rsplit("/", 1)[1]
        key = generate_key("bench")
        users = [f"00000000-0000-4000-8000-00000000000{i + 1}" for i in range(TERMINALS)]
        accounts = [
            Account(u, FIRST_LOGIN + i, f"bench-{FIRST_LOGIN + i}") for i, u in enumerate(users)
        ]
        seed_accounts(url, key, accounts)
        shared = Path(sim.log_path).parent / f"replicas-bench-{os.getpid()}-dev-secrets.json"
        settings = {
            "DEV_SECRETS_FILE": str(shared),
            "REPLICA_LEASE_TTL_S": str(args.ttl),
            "DEFAULT_ACCOUNT_LOGIN": "0",
        }
        a = Replica("A", sim.ports, url, key, settings=settings)
        processes.append(a)
        a.start()
        tokens = [a.token(u) for u in users]
        token_of = {f"{acc.login}@Sim-Demo": t for acc, t in zip(accounts, tokens, strict=True)}
        warm(a, tokens)
        one = spread([a], tokens, args.seconds)
        print(f"1 replica : {one['rate']:8.0f} reads/s  p50 {one['p50_ms']:.1f} ms", flush=True)

        b = Replica("B", sim.ports, url, key, settings=settings)
        processes.append(b)
        b.start()
        wait(
            lambda: (
                sorted(str(o) for o, _ in holders(cluster, database).values())
                == ["A", "A", "B", "B"]
            ),
            60,
            "the leases split two and two",
        )
        warm(b, tokens)
        two = spread([a, b], tokens, args.seconds)
        print(f"2 replicas: {two['rate']:8.0f} reads/s  p50 {two['p50_ms']:.1f} ms", flush=True)

        board = holders(cluster, database)
        sticky = [[token_of[acc] for o, acc in board.values() if o == r and acc] for r in "AB"]
        own = spread([a, b], sticky, args.seconds)
        print(f"2, sticky : {own['rate']:8.0f} reads/s  p50 {own['p50_ms']:.1f} ms", flush=True)
        on_a = next(acc for owner, acc in board.values() if owner == "A" and acc)
        direct = p50(latencies(a.url, token_of[on_a], "A"))  # ms
        forwarded = p50(latencies(b.url, token_of[on_a], "A"))
        move_store = lease_move_ms(url)
        print(f"forwarded read p50 {forwarded:.2f} ms, direct {direct:.2f} ms", flush=True)
        print(f"lease move in the store p50 {move_store:.2f} ms + a login", flush=True)

        try:
            lost = failover(cluster, database, a, b, token_of)
        except RuntimeError:
            print(b.output()[-4000:], flush=True)
            raise
        print(
            f"failover: read served after {lost['served_s']:.2f} s, terminals back after "
            f"{lost['terminals_s']:.2f} s (TTL {args.ttl} s)",
            flush=True,
        )
    finally:
        for replica in processes[2:]:
            problems = [line for line in replica.output().splitlines() if '"WARNING"' in line]
            for line in sorted({p.split('"message": ')[-1][:120] for p in problems})[:10]:
                print(f"  {replica.name}: {line}")
        with stopping(*processes):
            pass

    figures = Figures("replicas")
    machine = machine_line()
    figures.add(
        Figure(
            SECTION,
            "account reads/s, 2 replicas (each user spread over both)",
            two["rate"],
            "req/s",
            baseline=one["rate"],
            baseline_name="1 replica holding all 4 terminals",
            note=f"wrk, {CONNECTIONS} connections in all; {machine}",
            extra={"one": one, "two": two},
        )
    )
    figures.add(
        Figure(
            SECTION,
            "account reads/s, 2 replicas (each user sent to the replica holding its account)",
            own["rate"],
            "req/s",
            baseline=one["rate"],
            baseline_name="1 replica holding all 4 terminals",
            note="what a load balancer with account affinity would see: nothing forwarded",
        )
    )
    figures.add(
        Figure(
            SECTION,
            "account read p50 through the other replica (forwarded)",
            forwarded,
            "ms",
            baseline=direct,
            baseline_name="through the replica holding the account",
            note="the hop: the first replica's auth and placement, an internal HTTP call",
        )
    )
    figures.add(
        Figure(
            SECTION,
            "moving the lease instead: store part p50 + one login",
            move_store + LOGIN_DELAY_S * 1000,
            "ms",
            baseline=forwarded,
            baseline_name="a forwarded read p50",
            note=f"login {LOGIN_DELAY_S * 1000:.0f} ms in this simulator, 1-2 s on a real "
            "terminal; the drain of the holder's queue comes on top",
        )
    )
    figures.add(
        Figure(
            SECTION,
            "failover: a read of the killed replica's account served again",
            lost["served_s"],
            "s",
            baseline=args.ttl,
            baseline_name="lease TTL",
            note="the survivor serves it itself when the holder does not answer",
        )
    )
    figures.add(
        Figure(
            SECTION,
            "failover: the killed replica's terminals back in rotation",
            lost["terminals_s"],
            "s",
            baseline=args.ttl,
            baseline_name="lease TTL",
            target_kind="over_baseline",
            target=2.0,
        )
    )
    figures.save()
    spread_ratio = two["rate"] / one["rate"] if one["rate"] else float("nan")
    print(f"ratio 2/1 replicas: {spread_ratio:.2f}x; errors {one['errors']}, {two['errors']}")
    return 0 if one["errors"] + two["errors"] + own["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
