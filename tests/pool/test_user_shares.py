"""Per-user shares of the pool, end to end over real RPyC to simulator terminals: a user at their
limit is refused at once (``UserBusy``) while other users queue and are served in turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from server_process import TerminalServerProcess as SimServer

from gateway.terminal.pool import AccountKey, PoolBusy, TerminalPool, UserBusy
from gateway.terminal.rpyc_client import RpycTerminal

A = AccountKey(10001, "Sim-Demo")
LONG = 30.0  # deadlines that must not expire in these tests


def password() -> str:
    return "demo-10001"


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


class Users:
    """Sessions on account A for named users; each records (user, its login) once it holds a
    terminal and then waits for its gate."""

    def __init__(self, pool: TerminalPool) -> None:
        self.pool = pool
        self.served: list[str] = []

    async def request(self, user: str, gate: asyncio.Event) -> None:
        async with self.pool.session(A, password, self.pool.deadline(LONG), user=user) as t:
            assert (await t.account_info())["login"] == A.login
            self.served.append(user)
            await gate.wait()

    def spawn(self, user: str, gate: asyncio.Event) -> asyncio.Task[None]:
        return asyncio.ensure_future(self.request(user, gate))


def test_a_user_over_their_share_is_refused_at_once_and_others_go_first(
    demo_server: SimServer,
) -> None:
    async def body() -> None:
        terminal = RpycTerminal("t1", demo_server.host, demo_server.ports[0])
        async with TerminalPool([terminal], user_limit=3, health_interval_s=3600) as pool:
            users = Users(pool)
            gate = asyncio.Event()
            held = users.spawn("flood", gate)
            await until(lambda: users.served == ["flood"])
            backlog = [users.spawn("flood", gate) for _ in range(2)]
            await until(lambda: pool.snapshot().queued == 2)
            with pytest.raises(UserBusy) as refused:  # the fourth: at once, never queued
                async with pool.session(A, password, pool.deadline(LONG), user="flood"):
                    pass
            assert isinstance(refused.value, PoolBusy) and refused.value.limit == 3
            assert refused.value.retry_after_s >= 1
            assert pool.snapshot().queued == 2
            other = users.spawn("other", gate)  # queued behind flood's backlog
            await until(lambda: pool.snapshot().queued == 3)
            gate.set()
            await asyncio.gather(held, *backlog, other)
            assert users.served == ["flood", "other", "flood", "flood"]
            snap = pool.snapshot()
            assert snap.user_rejected == 1 and snap.rejected == 0 and snap.users == 0
            await users.request("flood", gate)  # the share is given back

    asyncio.run(asyncio.wait_for(body(), 120))


def test_requests_without_a_user_are_not_limited(demo_server: SimServer) -> None:
    async def body() -> None:
        terminal = RpycTerminal("t1", demo_server.host, demo_server.ports[0])
        async with TerminalPool([terminal], user_limit=1, health_interval_s=3600) as pool:
            gate = asyncio.Event()

            async def anonymous() -> None:
                async with pool.session(A, password, pool.deadline(LONG)):
                    await gate.wait()

            tasks = [asyncio.ensure_future(anonymous()) for _ in range(3)]
            await until(lambda: pool.snapshot().queued == 2)
            gate.set()
            await asyncio.gather(*tasks)
            assert pool.snapshot().user_rejected == 0

    asyncio.run(asyncio.wait_for(body(), 120))
