"""1,000 trade requests with idempotency keys while faults hit after the send: order_send
answers that come too late (the simulator executes, then holds the answer past the gateway's
terminal timeout), dropped terminal connections, and the gateway itself killed with SIGKILL
mid-request and started again on the same store. Clients retry each key until its answer is
final; the simulator's history then holds exactly one order per filled key and no other.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

import pytest
from stress_support import (
    MAGIC_BASE,
    KeyOutcome,
    Sim,
    assert_one_order_per_key,
    gateway,
    history_orders,
    netting_order,
    report,
    settle_keys,
    size,
    stopping,
)

KEYS = size(120, 1000)
CLIENTS = size(10, 20)
PLAN = {"timeout": size(4, 25), "drop": size(4, 25), "kill": size(1, 3)}


def schedule(rng: random.Random) -> list[tuple[float, str]]:
    """When (fraction of keys settled) each fault strikes: spread over the run, shuffled."""
    faults = [kind for kind, count in PLAN.items() for _ in range(count)]
    rng.shuffle(faults)
    step = 0.9 / (len(faults) + 1)
    return [(step * (i + 1), kind) for i, kind in enumerate(faults)]


class Faults:
    """Injects the planned faults from a thread as the keys get settled."""

    def __init__(self, sim: Sim, gw: object, outcomes: list[KeyOutcome]) -> None:
        self.sim, self.gw, self.outcomes = sim, gw, outcomes
        self.done = threading.Event()
        self.counts: Counter[str] = Counter()
        self.plan = schedule(random.Random(15))
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _progress(self) -> float:
        return sum(1 for o in self.outcomes if o.status) / len(self.outcomes)

    def _run(self) -> None:
        while self.plan and not self.done.wait(0.05):
            at, kind = self.plan[0]
            if self._progress() < at:
                continue
            self.plan.pop(0)
            if kind == "kill":
                self.gw.kill()  # type: ignore[attr-defined]
                self.counts["gateway SIGKILL"] += 1
                time.sleep(0.3)
                self.gw.start()  # type: ignore[attr-defined]
                continue
            with self.sim.control(0) as control:
                if kind == "timeout":
                    control.timeout_after_execute(seconds=2.5)  # > TERMINAL_TIMEOUT_S
                    self.counts["answer after the timeout"] += 1
                else:
                    control.drop_connections()
                    self.counts["dropped connections"] += 1


@pytest.mark.timeout(size(400, 1200))
def test_every_key_makes_exactly_one_order_whatever_the_faults() -> None:
    sim = Sim(terminals=1)
    gw = gateway(sim.ports, default_login=10003)  # netting: positions stay small
    with stopping(sim, gw):
        gw.start()
        tokens = [gw.token(f"keys-{i}") for i in range(CLIENTS)]
        outcomes = [KeyOutcome(f"fault-{i}", MAGIC_BASE + i) for i in range(KEYS)]
        faults = Faults(sim, gw, outcomes)
        faults.thread.start()
        try:
            asyncio.run(
                settle_keys(gw.port, tokens, outcomes, netting_order, bound_s=size(300, 1000))
            )
        finally:
            faults.done.set()
            faults.thread.join(60)
        with sim.control(0) as control:  # no fault left armed for the look at the history
            control.timeout_after_execute(seconds=0.0)
        orders = [
            o
            for o in history_orders(sim.ports[0], 10003, "demo-10003")
            if int(o["magic"]) >= MAGIC_BASE
        ]
    statuses = Counter(s for o in outcomes for s in o.seen.elements())
    report(
        "idempotency-faults",
        {
            "keys": KEYS,
            "faults": dict(faults.counts),
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "final": dict(Counter(o.status for o in outcomes)),
            "transport_errors": sum(o.transport_errors for o in outcomes),
            "orders": len(orders),
        },
    )
    assert faults.counts == Counter(
        {
            "answer after the timeout": PLAN["timeout"],
            "dropped connections": PLAN["drop"],
            "gateway SIGKILL": PLAN["kill"],
        }
    ), dict(faults.counts)
    assert_one_order_per_key(outcomes, orders)
