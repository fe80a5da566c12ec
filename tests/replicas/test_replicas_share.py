"""Two gateway replicas on one PostgreSQL and four simulator terminals share the terminals
through leases: a terminal is called by one replica only, and requests for an account reach
the terminal that holds it, through either replica, without more switches than one replica."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from replica_load import callers, calls, read_round_robin, record, switches
from replica_process import REPLICA_SECRET, holders, leases, wait_for
from replica_support import Cluster, owner_of
from sim_control import SimControl

pytestmark = pytest.mark.needs_binary("postgres")

ROUNDS = 16


def balanced(dsn: str) -> bool:
    owners = sorted(str(o) for o in holders(dsn).values())
    return owners == ["A", "A", "B", "B"]


def test_each_terminal_serves_one_replica_and_accounts_switch_as_with_one(
    cluster: Callable[..., Cluster], controls: list[SimControl]
) -> None:
    c = cluster()
    a = c.replica("A")
    assert set(holders(c.dsn).values()) == {"A"}  # alone, it leases every terminal

    # The baseline, in this run: one replica serving four accounts.
    record(controls, True)
    served_alone = read_round_robin([a], c.traders[0:4], ROUNDS)
    one_replica = switches(calls(controls))
    assert served_alone == {"A": 4 * ROUNDS}
    assert one_replica == 4  # each account logged in once

    b = c.replica("B")
    wait_for(lambda: balanced(c.dsn), 30, "the leases split two and two")
    before = leases(c.dsn)
    record(controls, True)  # starts a fresh record
    served = read_round_robin([a, b], c.traders[4:8], ROUNDS)
    recorded = calls(controls)
    record(controls, False)
    after = leases(c.dsn)

    # Nothing moved meanwhile: same holders, same generations ...
    assert {t: (r["owner"], r["generation"]) for t, r in after.items()} == {
        t: (r["owner"], r["generation"]) for t, r in before.items()
    }
    # ... so every terminal was called through one connection: its holder's.
    for terminal, entries in recorded.items():
        assert len(callers(entries)) <= 1, (terminal, sorted(callers(entries)))
    # Requests were served where their account is: some crossed to the other replica, and the
    # accounts were logged in no more often than with one replica.
    assert served["A"] + served["B"] == 4 * ROUNDS
    assert served["A"] > 0 and served["B"] > 0
    assert switches(recorded) <= one_replica, served

    # The internal hop's marks are believed only with the replicas' secret: forged, they are
    # dropped and the request is forwarded as any other; genuine, it is served where it lands.
    trader = c.traders[4]
    owner = {"A": a, "B": b}
    elsewhere = {"A": b, "B": a}[
        owner_of(httpx.get(a.url + "/api/v1/account/info", headers=trader.headers, timeout=60))
    ]
    home = "A" if elsewhere is b else "B"
    forged = {**trader.headers, "X-MT5GW-Forwarded": "C", "X-MT5GW-Replica-Secret": "guess"}
    response = httpx.get(elsewhere.url + "/api/v1/account/info", headers=forged, timeout=60)
    assert response.status_code == 200 and owner_of(response) == home
    genuine = {**forged, "X-MT5GW-Replica-Secret": REPLICA_SECRET}
    response = httpx.get(elsewhere.url + "/api/v1/account/info", headers=genuine, timeout=60)
    assert response.status_code == 200 and owner_of(response) != home
    assert response.json()["login"] == trader.login
    assert owner[home] is not elsewhere
