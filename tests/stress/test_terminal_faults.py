"""Terminals that die or hang under load.

Two simulator terminals share one world (one broker): t1 is reached through a TCP forwarder, so
killing the forwarder is t1 dying while every order it executed stays countable. Account A
(10001, the configured account) starts on one terminal, account B (10002, stored) on the
other; clients of both keep reading and trading with idempotency keys throughout.

* t1 killed: answers are successes or 503/429 with Retry-After only; t1 leaves the rotation,
  and once its address answers again it is back in rotation (the pool's state, polled; how
  soon is reported, not asserted: tests never assert on wall-clock time); every key ends
  with exactly one order in the simulator's history, or none.
* t1 hung (the simulator's ``hang_calls``): calls on it answer 504 after the terminal
  timeout, t1 leaves the rotation and stays out while hung, B's clients on t2 keep getting
  answers, and t1 is back once it answers again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import httpx
import loadgen
import pytest
from benchlib import Account, seed_accounts
from stress_support import (
    ADMIN,
    MAGIC_BASE,
    KeyOutcome,
    Proxy,
    Sim,
    assert_one_order_per_key,
    gateway,
    history_orders,
    pool_terminals,
    report,
    settle_key,
    size,
    stopping,
    wait_for,
)


class Traffic:
    """Clients of account A (configured) and B (stored) trading with keys and reading, in a
    thread of their own, until stopped; every answer recorded per account."""

    def __init__(self, port: int, tokens: dict[str, list[str]], magic: int) -> None:
        self.port = port
        self.tokens = tokens
        self.statuses: dict[str, Counter[int]] = {name: Counter() for name in tokens}
        self.missing_retry_after: Counter[str] = Counter()
        self.outcomes: dict[str, list[KeyOutcome]] = {name: [] for name in tokens}
        self.stop = threading.Event()
        self.next_magic = magic
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Traffic:
        self.thread.start()
        return self

    def finish(self, bound_s: float = 180.0) -> None:
        self.stop.set()
        self.thread.join(bound_s)
        assert not self.thread.is_alive(), "clients did not finish"

    async def _run(self) -> None:
        await asyncio.gather(
            *(self._client(name, token) for name, tokens in self.tokens.items() for token in tokens)
        )

    async def _client(self, account: str, token: str) -> None:
        conn = loadgen.Connection("127.0.0.1", self.port, token)
        try:
            while not self.stop.is_set():
                await self._read(conn, account)
                outcome = KeyOutcome(f"{account}-{self.next_magic}", self.next_magic)
                self.next_magic += 1
                self.outcomes[account].append(outcome)
                side = "buy" if outcome.magic % 2 else "sell"
                body = {"symbol": "EURUSD", "order_type": side, "volume": 0.01}
                await settle_key(
                    conn,
                    outcome,
                    {**body, "magic": outcome.magic},
                    deadline=time.monotonic() + 120,
                )
                self.statuses[account].update(outcome.seen)
                self.missing_retry_after[account] += outcome.missing_retry_after
        finally:
            await conn.close()

    async def _read(self, conn: loadgen.Connection, account: str) -> None:
        try:
            status, _, retry_after = await conn.request("GET", "/api/v1/account/info")
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await conn.close()
            conn.writer = None
            self.statuses[account][-1] += 1  # a transport failure: never expected
            return
        self.statuses[account][status] += 1
        if status in (429, 503) and not retry_after:
            self.missing_retry_after[account] += 1


def deployment() -> tuple[Sim, Proxy, Any]:
    sim = Sim(terminals=2)
    proxy = Proxy(sim.ports[0]).start()
    gw = gateway([proxy.port, sim.ports[1]])
    stored = [Account(f"b-{i}", 10002, "demo-10002") for i in range(2)]
    seed_accounts(gw.database_url, gw.encryption_key, stored)
    return sim, proxy, gw.start()


def tokens_of(gw: Any) -> dict[str, list[str]]:
    return {
        "A": [gw.token(f"a-{i}") for i in range(2)],  # the configured account 10001
        "B": [gw.token(f"b-{i}") for i in range(2)],  # each user's stored 10002
    }


def orders(sim: Sim) -> list[dict[str, Any]]:
    mine = history_orders(sim.ports[1], 10001, "demo-10001")
    mine += history_orders(sim.ports[1], 10002, "demo-10002")
    return [o for o in mine if int(o["magic"]) >= MAGIC_BASE]


@pytest.mark.timeout(size(300, 600))
def test_a_killed_terminal_answers_503_then_returns_to_rotation_and_loses_nothing() -> None:
    sim, proxy, gw = deployment()
    with stopping(sim, proxy, gw), gw.client(ADMIN) as admin:
        traffic = Traffic(gw.port, tokens_of(gw), MAGIC_BASE).start()
        time.sleep(size(1.0, 3.0))
        assert pool_terminals(admin) == {"t1": True, "t2": True}
        proxy.kill()
        wait_for(lambda: not pool_terminals(admin)["t1"], timeout_s=30)
        time.sleep(size(1.5, 5.0))  # the outage, under load
        proxy.start()
        back = wait_for(lambda: pool_terminals(admin)["t1"], timeout_s=30)
        time.sleep(size(1.0, 3.0))
        traffic.finish()
        histories = orders(sim)
    statuses = {k: dict(v) for k, v in traffic.statuses.items()}
    report("terminal-killed", {"statuses": statuses, "back_in_rotation_s": round(back, 3)})
    allowed = {200, 409, 429, 503, 504}  # 409/504 only to keyed retries, settled by the client
    for account, seen in traffic.statuses.items():
        assert set(seen) <= allowed, f"account {account}: {dict(seen)}"
    assert not sum(traffic.missing_retry_after.values()), dict(traffic.missing_retry_after)
    everything = traffic.outcomes["A"] + traffic.outcomes["B"]
    assert everything
    assert_one_order_per_key(everything, histories)


def hang_and_watch(sim: Sim, gw: Any, admin: httpx.Client, client: httpx.Client) -> dict[str, Any]:
    """Hang the terminal holding A; what A, B and the pool's view showed meanwhile."""
    a = {"Authorization": f"Bearer {gw.token('a-0')}"}
    b = {"Authorization": f"Bearer {gw.token('b-0')}"}
    assert client.get("/account/info", headers=a).json()["login"] == 10001
    assert client.get("/account/info", headers=b).json()["login"] == 10002
    pool = admin.get("/admin/pool").json()["pool"]
    hung = next(t["name"] for t in pool["terminals"] if t["login"] == 10001)
    index = {"t1": 0, "t2": 1}[hung]  # t1 forwards to the simulator's first terminal
    with sim.control(index) as control:
        control.hang_calls(seconds=6.0)
    timed_out = client.get("/account/info", headers=a)
    wait_for(lambda: not pool_terminals(admin)[hung], timeout_s=30)
    answers: Counter[int] = Counter()
    came_back = False
    for _ in range(size(10, 40)):  # B keeps being served while the other hangs
        answers[client.get("/account/info", headers=b).status_code] += 1
        came_back |= pool_terminals(admin)[hung]
    with sim.control(index) as control:
        control.hang_calls(seconds=0.0)
    back = wait_for(lambda: pool_terminals(admin)[hung], timeout_s=60)
    after = client.get("/account/info", headers=a)
    return {"timed_out": timed_out, "answers": answers, "came_back": came_back, "back": back,
            "after": after}  # fmt: skip


@pytest.mark.timeout(size(300, 600))
def test_a_hung_terminal_times_out_is_isolated_and_leaves_the_others_alone() -> None:
    sim, proxy, gw = deployment()
    with (
        stopping(sim, proxy, gw),
        gw.client(ADMIN) as admin,
        httpx.Client(base_url=f"{gw.url}/api/v1", timeout=60) as client,
    ):
        seen = hang_and_watch(sim, gw, admin, client)
    answers = seen["answers"]
    report("terminal-hung", {"b_answers": dict(answers), "back_after_s": round(seen["back"], 3)})
    assert seen["timed_out"].status_code == 504, seen["timed_out"].text
    assert seen["timed_out"].json()["code"] == "TERMINAL_TIMEOUT"
    assert not seen["came_back"], "the hung terminal came back into rotation while hung"
    assert answers == Counter({200: sum(answers.values())}), dict(answers)
    assert seen["after"].status_code == 200, seen["after"].text
