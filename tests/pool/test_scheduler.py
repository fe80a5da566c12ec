"""The scheduler's pure decisions: which idle terminal serves which waiting request.

No I/O here: the terminals are only names. The same behaviours are checked end to end against
real simulator terminals over RPyC in ``test_pool_sim.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.terminal.port import TerminalPort
from gateway.terminal.scheduler import AccountKey, Grant, Request, Scheduler, Slot

A = AccountKey(10001, "Sim-Demo")
B = AccountKey(10002, "Sim-Demo")
C = AccountKey(10003, "Sim-Demo")
LIVE = AccountKey(20001, "Sim-Live")


@dataclass
class Named:
    """Only the name: the scheduler never calls a terminal."""

    name: str


def slots(*names: str) -> list[Slot]:
    return [Slot(cast(TerminalPort, Named(n))) for n in names]


class Queue:
    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.seq = 0

    def account(self, key: AccountKey) -> Request:
        self.seq += 1
        r = Request(self.seq, key.server, account=key)
        self.sched.queue.append(r)
        return r

    def market(self, server: str, fallback: AccountKey | None = None) -> Request:
        self.seq += 1
        r = Request(self.seq, server, fallback=fallback)
        self.sched.queue.append(r)
        return r


def served(grants: list[tuple[Request, Grant]]) -> list[tuple[Any, str, AccountKey | None]]:
    return [(r.account or r.server, g.slot.name, g.switch_to) for r, g in grants]


def make(*names: str, fairness: int = 16, linger: float = 0.0) -> tuple[Scheduler, Queue]:
    sched = Scheduler(slots(*names), fairness_batch=fairness, linger_s=linger)
    return sched, Queue(sched)


def test_affinity_beats_least_recently_used() -> None:
    sched, q = make("t1", "t2")
    t1, t2 = sched.slots
    t1.holds, t1.last_used = A, 5.0
    t2.holds, t2.last_used = B, 1.0
    q.account(A)
    assert served(sched.assign(10.0)) == [(A, "t1", None)]
    assert t1.busy and not t2.busy


def test_switch_prefers_empty_then_least_recently_used() -> None:
    sched, q = make("t1", "t2", "t3")
    t1, t2, t3 = sched.slots
    t1.holds, t1.last_used = A, 1.0
    t2.holds, t2.last_used = B, 2.0
    q.account(C)
    assert served(sched.assign(10.0)) == [(C, "t3", C)]
    q.account(LIVE)
    assert served(sched.assign(10.0)) == [(LIVE, "t1", LIVE)]  # t1 is the least recently used
    assert t1.holds == LIVE and t3.holds == C


def test_request_waits_for_the_busy_terminal_holding_its_account() -> None:
    sched, q = make("t1", "t2")
    t1, t2 = sched.slots
    t1.holds, t1.busy = A, True
    q.account(A)
    assert sched.assign(10.0) == []  # t2 is idle but switching it to A would waste a switch
    sched.release(t1, 11.0)
    assert served(sched.assign(11.0)) == [(A, "t1", None)]
    assert t2.switches == 0 and t2.holds is None


def test_queued_requests_of_one_account_are_served_together() -> None:
    sched, q = make("t1")
    (t1,) = sched.slots
    t1.holds, t1.busy = A, True
    q.account(B)
    q.account(A)
    q.account(B)
    q.account(A)
    order = []
    for now in range(1, 6):
        sched.release(t1, float(now))
        grants = sched.assign(float(now))
        order += served(grants)
    assert order == [(A, "t1", None), (A, "t1", None), (B, "t1", B), (B, "t1", None)]


def test_fairness_bound_yields_to_a_starving_account() -> None:
    sched, q = make("t1", fairness=2)
    (t1,) = sched.slots
    t1.holds, t1.busy = A, True
    q.account(B)
    for _ in range(4):
        q.account(A)
    order = []
    for now in range(1, 7):
        sched.release(t1, float(now))
        order += [str(r.account) for r, _ in sched.assign(float(now))]
    assert order == [str(x) for x in (A, A, B, A, A)]


def test_fairness_ignores_requests_another_terminal_will_serve() -> None:
    sched, q = make("t1", "t2", fairness=1)
    t1, t2 = sched.slots
    t1.holds = A
    t2.holds, t2.busy = B, True  # B's request is not starving: t2 will serve it
    q.account(B)
    for _ in range(3):
        q.account(A)
    order = []
    for now in range(1, 4):
        order += [str(r.account) for r, _ in sched.assign(float(now))]
        sched.release(t1, float(now))
    assert order == [str(A)] * 3
    assert t1.holds == A


def test_linger_keeps_the_terminal_for_its_account_briefly() -> None:
    sched, q = make("t1", linger=0.5)
    (t1,) = sched.slots
    t1.holds, t1.busy = A, True
    q.account(B)
    sched.release(t1, 10.0)
    assert sched.assign(10.1) == []  # lingering for A
    q.account(A)
    assert served(sched.assign(10.2)) == [(A, "t1", None)]  # A came back in time
    sched.release(t1, 10.3)
    assert served(sched.assign(10.9)) == [(B, "t1", B)]  # linger over: B gets it


def test_market_data_uses_any_terminal_on_the_server_without_switching() -> None:
    sched, q = make("t1", "t2")
    t1, t2 = sched.slots
    t1.holds, t1.last_used = LIVE, 1.0
    t2.holds, t2.last_used = B, 2.0
    q.market("Sim-Demo")
    assert served(sched.assign(5.0)) == [("Sim-Demo", "t2", None)]


def test_market_data_switches_to_its_fallback_only_when_nobody_is_on_the_server() -> None:
    sched, q = make("t1")
    (t1,) = sched.slots
    t1.holds = A
    q.market("Sim-Live")  # no fallback: it can only wait for someone on Sim-Live
    assert sched.assign(5.0) == []
    q.market("Sim-Live", fallback=LIVE)
    assert served(sched.assign(5.0)) == [("Sim-Live", "t1", LIVE)]
    sched.release(t1, 6.0)
    assert served(sched.assign(6.0)) == [("Sim-Live", "t1", None)]  # the first one, now served


def test_dead_terminals_get_nothing_and_their_account_is_not_awaited() -> None:
    sched, q = make("t1", "t2")
    t1, t2 = sched.slots
    t1.holds, t1.healthy = A, False
    sched.forget(t1)
    t2.holds = B
    q.account(A)
    assert served(sched.assign(5.0)) == [(A, "t2", A)]


def test_fairness_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Scheduler([], fairness_batch=0, linger_s=0.0)


def test_a_terminal_dedicated_to_one_server_never_switches_to_another() -> None:
    sched, q = make("demo-only", "any")
    dedicated, anywhere = sched.slots
    dedicated.only_server = "Sim-Demo"
    anywhere.holds, anywhere.busy = A, True
    q.account(LIVE)
    assert sched.assign(5.0) == []  # only the busy terminal may go to Sim-Live
    q.account(B)
    assert served(sched.assign(5.0)) == [(B, "demo-only", B)]
    sched.release(anywhere, 6.0)
    assert served(sched.assign(6.0)) == [(LIVE, "any", LIVE)]


def queue_for(q: Queue, user: str, key: AccountKey, times: int = 1) -> None:
    for _ in range(times):
        q.seq += 1
        q.sched.queue.append(Request(q.seq, key.server, account=key, user=user))


def drain(sched: Scheduler, slot: Slot) -> list[str | None]:
    """Release ``slot`` again and again; the users it served, in order."""
    users: list[str | None] = []
    for now in range(1, 100):
        sched.release(slot, float(now))
        grants = sched.assign(float(now))
        if not grants:
            return users
        users += [r.user for r, _ in grants]
    raise AssertionError("the queue never drained")


def test_users_take_turns_instead_of_first_come_first_served() -> None:
    sched, q = make("t1")
    (t1,) = sched.slots
    t1.holds, t1.busy = A, True
    queue_for(q, "flood", A, 4)  # one user's backlog, queued first
    queue_for(q, "other", A, 2)
    assert drain(sched, t1) == ["flood", "other", "flood", "other", "flood", "flood"]


def test_a_user_served_recently_waits_behind_one_not_served_yet() -> None:
    sched, q = make("t1")
    (t1,) = sched.slots
    t1.holds = A
    queue_for(q, "flood", A, 1)
    assert [r.user for r, _ in sched.assign(1.0)] == ["flood"]
    queue_for(q, "flood", A, 3)
    queue_for(q, "late", A, 1)  # arrives behind three of flood's, is served before them
    assert drain(sched, t1) == ["late", "flood", "flood", "flood"]


def test_switches_also_go_round_robin_between_users() -> None:
    sched, q = make("t1")
    (t1,) = sched.slots
    queue_for(q, "flood", B)
    queue_for(q, "flood", C)
    queue_for(q, "other", LIVE)
    first = sched.assign(1.0)
    assert served(first) == [(B, "t1", B)]
    order = [(r.user, g.switch_to) for r, g in first]
    for now in (2.0, 3.0):
        sched.release(t1, now)
        order += [(r.user, g.switch_to) for r, g in sched.assign(now)]
    assert order == [("flood", B), ("other", LIVE), ("flood", C)]


# -- the starving set, computed once per grant ---------------------------------------------------

ACCOUNTS = (A, B, C, LIVE, None)


def _old_starving(sched: Scheduler, slot: Slot) -> list[Request]:
    """The definition: switchable requests ``slot`` does not fit and no other usable terminal
    serves unswitched (what ``starving`` computed per slot before it was made O(queue))."""
    return [
        r
        for r in sched.queue
        if r.target is not None
        and slot.only_server in (None, r.target.server)
        and not sched.fits(slot, r)
        and not any(s.usable and s is not slot and sched.fits(s, r) for s in sched.slots)
    ]


@given(
    holds=st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.booleans(), st.booleans()), max_size=6),
    queued=st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.booleans()), max_size=12),
    only_live=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_starving_is_the_per_slot_definition(
    holds: list[tuple[AccountKey | None, bool, bool]],
    queued: list[tuple[AccountKey | None, bool]],
    only_live: bool,
) -> None:
    sched, q = make(*(f"t{i}" for i in range(len(holds))))
    for slot, (account, healthy, held) in zip(sched.slots, holds, strict=True):
        slot.holds, slot.healthy, slot.held = account, healthy, held
    if only_live and sched.slots:
        sched.slots[0].only_server = LIVE.server
    for account, market in queued:
        if account is None:
            q.market("Sim-Demo")
        elif market:
            q.market(account.server, fallback=account)
        else:
            q.account(account)
    uncovered = sched.uncovered()
    for slot in sched.slots:
        if slot.usable:
            assert list(Scheduler.starving(slot, uncovered)) == _old_starving(sched, slot)
