"""A replica killed with SIGKILL in the middle of trading: its leases expire, the survivor takes
its terminals at once, resumes the trade requests it left unsettled, and every idempotency key
ends with exactly one order."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from replica_load import calls, record
from replica_process import ReplicaProcess, execute_as, holders, leases, query, wait_for
from replica_support import Cluster, Trader
from sim_control import SimControl

from gateway.store.idempotency import request_hash
from gateway.trading.schemas import TradeBody

pytestmark = pytest.mark.needs_binary("postgres")

SETTLE_S = 120.0  # a key must have its final answer within this (safety bound only)
RETRY_STATUSES = {409, 502, 503, 504}  # in progress, replica gone, busy, outcome unknown
ORDER = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}
HELD_ANSWER_S = 8.0  # A's terminals execute the next order, then hold its answer this long
PENDING_OF_A = (
    "SELECT t.request_id FROM trade_requests t JOIN replica_stamps s"
    " ON s.kind = 'trade' AND s.ref = t.request_id WHERE s.replica_id = 'A'"
    " AND t.state = 'pending'"
)
BARE_KEY = (
    "INSERT INTO idempotency_keys (user_id, key, request_hash, status, created_at, expires_at)"
    " VALUES ($1, $2, $3, 'in_progress', now(), now() + interval '1 day')"
)


def fingerprint(account_id: str) -> str:
    """The request hash A would have claimed the key with, for ``ORDER`` (the desk's)."""
    body = TradeBody.model_validate(ORDER).model_dump(mode="json")
    return request_hash({"action": "trade.open", "account_id": account_id, **body})


@dataclass
class Trading:
    """One trader sending market orders, one Idempotency-Key each, retried until answered."""

    trader: Trader
    replicas: list[ReplicaProcess]
    survivor: ReplicaProcess
    killed: threading.Event
    stop: threading.Event
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    retries: int = 0

    def run(self) -> None:
        with httpx.Client(timeout=60, headers=self.trader.headers) as http:
            turn = 0
            while not self.stop.is_set():
                key = f"k-{uuid.uuid4().hex}"
                self.answers[key] = self._settle(http, key, self.replicas[turn % 2])
                turn += 1

    def one(self, key: str) -> None:
        """Settle one given key (through the survivor)."""
        with httpx.Client(timeout=60, headers=self.trader.headers) as http:
            self.answers[key] = self._settle(http, key, self.survivor)

    def _settle(self, http: httpx.Client, key: str, first: ReplicaProcess) -> dict[str, Any]:
        target = first
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            if self.killed.is_set():
                target = self.survivor
            try:
                response = http.post(
                    target.url + "/api/v1/trades", json=ORDER, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                self.retries += 1
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            assert response.status_code in RETRY_STATUSES, (response.status_code, response.text)
            self.retries += 1
            time.sleep(0.2)
        raise AssertionError(f"key {key} not settled in {SETTLE_S} s")


def positions(survivor: ReplicaProcess, trader: Trader) -> list[tuple[str, int]]:
    """(client id from the comment, ticket) of every open position of ``trader``."""
    response = httpx.get(survivor.url + "/api/v1/positions", headers=trader.headers, timeout=60)
    assert response.status_code == 200, response.text
    return [(str(p["comment"]).split(" ")[0], p["ticket"]) for p in response.json()["positions"]]


def test_sigkill_mid_trading_terminals_return_and_each_key_has_one_order(
    cluster: Callable[..., Cluster], controls: list[SimControl]
) -> None:
    c = cluster()
    a = c.replica("A")
    b = c.replica("B")
    wait_for(
        lambda: sorted(map(str, holders(c.dsn).values())) == ["A", "A", "B", "B"],
        30,
        "the leases split two and two",
    )
    ttl_s = float(c.env["REPLICA_LEASE_TTL_S"])
    killed, stop = threading.Event(), threading.Event()
    traders = [Trading(t, [a, b], b, killed, stop) for t in c.traders[0:4]]
    threads = [threading.Thread(target=t.run) for t in traders]
    record(controls, True)
    for thread in threads:
        thread.start()
    wait_for(lambda: all(len(t.answers) >= 3 for t in traders), 60, "trading under way")

    # A dies with an order executed but not answered, and with a key it had just claimed.
    held_by_a = leases(c.dsn)
    a_terminals = sorted(n for n, r in held_by_a.items() if r["owner"] == "A")
    for name in a_terminals:
        controls[int(name[1:]) - 1].timeout_after_execute(seconds=HELD_ANSWER_S)
    stranded = wait_for(lambda: query(c.dsn, PENDING_OF_A), 30, "an order of A in flight")
    late = Trading(c.traders[4], [b, b], b, killed, stop)
    bare_key = f"k-bare-{uuid.uuid4().hex}"
    claimed = fingerprint(late.trader.account_id)
    execute_as(c.dsn, "A", BARE_KEY, late.trader.user_id, bare_key, claimed)
    a.kill()
    killed.set()
    wait_for(lambda: set(holders(c.dsn).values()) == {"B"}, ttl_s + 30, "B holding all four")
    late.one(bare_key)  # 409 until B finds A gone and frees the key; then it trades once
    wait_for(lambda: all(len(t.answers) >= 6 for t in traders), 90, "trading through B")
    stop.set()
    for thread in threads:
        thread.join(SETTLE_S + 30)
    traders.append(late)
    recorded = calls(controls)
    record(controls, False)
    after = leases(c.dsn)

    # A's terminals: taken by B once A's lease expired (database clock), and used again.
    for name in a_terminals:
        old, new = held_by_a[name], after[name]
        assert new["owner"] == "B" and new["generation"] == old["generation"] + 1
        # B took it only once A's lease had expired (how soon after is a figure of
        # bench/replicas_bench.py: tests never assert on wall-clock time).
        takeover_s = (new["acquired_at"] - old["expires_at"]).total_seconds()
        assert takeover_s >= 0, (name, takeover_s)
        entries = sorted(recorded[name], key=lambda e: e[2])
        owners = [e[0] for e in entries]
        a_caller, b_caller = owners[0], owners[-1]
        assert a_caller != b_caller  # A's connection first, then B's
        switch_at = owners.index(b_caller)
        assert set(owners[:switch_at]) == {a_caller} and set(owners[switch_at:]) == {b_caller}
        a_last_end = max(e[3] for e in entries if e[0] == a_caller)
        assert entries[switch_at][2] >= a_last_end  # never both at once
        first_call_s = entries[switch_at][2] / 1e9 - new["acquired_at"].timestamp()
        assert first_call_s >= 0  # B called it only once it held the lease
    for name in set(after) - set(a_terminals):  # B's own: B all along
        assert after[name]["generation"] == held_by_a[name]["generation"]
        assert len({e[0] for e in recorded[name]}) == 1

    # The order A left unanswered was found by B and settled (its key answered by it).
    for row in stranded:
        state = query(
            c.dsn, "SELECT state FROM trade_requests WHERE request_id = $1", row["request_id"]
        )
        assert state == [{"state": "done"}]
    # Exactly one order per Idempotency-Key, whatever the retries went through.
    for trading in traders:
        opened = positions(b, trading.trader)
        for key, answer in trading.answers.items():
            rows = query(
                c.dsn,
                "SELECT client_id, state FROM trade_requests WHERE idempotency_key = $1",
                key,
            )
            assert rows, key
            client_ids = {r["client_id"] for r in rows}
            orders = [ticket for client_id, ticket in opened if client_id in client_ids]
            assert orders == [answer["ticket"]], (key, rows, answer)
    assert sum(t.retries for t in traders) > 0  # the kill was felt
    metrics = httpx.get(b.url + "/metrics", timeout=30).text
    assert "gateway_replica_terminals_held 4.0" in metrics
    resumed = next(
        x for x in metrics.splitlines() if x.startswith("gateway_replica_orphans_resumed")
    )
    assert float(resumed.split()[-1]) >= 2  # the stranded order and the bare key
