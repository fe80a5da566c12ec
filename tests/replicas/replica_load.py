"""Client load and simulator records for the replica tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from replica_process import ReplicaProcess
from replica_support import Trader, owner_of
from sim_control import SimControl


def read_round_robin(
    replicas: Sequence[ReplicaProcess], traders: Sequence[Trader], rounds: int
) -> Counter[str]:
    """Each trader (one thread each) reads its account ``rounds`` times, through the replicas
    in turn (trader i starts at replica i); every answer must be its own account. Returns how
    many answers each replica served."""

    def one(index: int) -> Counter[str]:
        trader = traders[index]
        served: Counter[str] = Counter()
        with httpx.Client(timeout=60, headers=trader.headers) as http:
            for k in range(rounds):
                replica = replicas[(index + k) % len(replicas)]
                path = "/api/v1/account/info" if k % 2 == 0 else "/api/v1/positions"
                response = http.get(replica.url + path)
                assert response.status_code == 200, (response.status_code, response.text)
                if path.endswith("info"):
                    assert response.json()["login"] == trader.login
                served[owner_of(response)] += 1
        return served

    with ThreadPoolExecutor(len(traders)) as pool:
        return sum(pool.map(one, range(len(traders))), Counter())


def record(controls: Sequence[SimControl], enabled: bool) -> None:
    for control in controls:
        control.record_callers(enabled=enabled)


def calls(controls: Sequence[SimControl]) -> dict[str, list[tuple[int, str, int, int]]]:
    """Per terminal (t1...), the calls recorded: (caller, function, started_ns, ended_ns)."""
    return {f"t{i + 1}": [tuple(c) for c in ctl.callers()] for i, ctl in enumerate(controls)}


def switches(recorded: dict[str, list[Any]]) -> int:
    """Account switches on every terminal: ``login`` calls, less the first attempts refused by
    a terminal not initialized yet (the pool then runs ``initialize`` and logs in again)."""
    functions = Counter(entry[1] for entries in recorded.values() for entry in entries)
    return functions["login"] - functions["initialize"]


def callers(entries: Sequence[Any]) -> set[int]:
    return {entry[0] for entry in entries}
