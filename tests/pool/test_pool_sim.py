"""The terminal pool end to end: real simulator terminal servers over real RPyC.

Requests are held open with events so the tests decide exactly when a terminal frees up; they
assert on who served what, in which order, the switch counts and the error types, never on time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from server_process import TerminalServerProcess as SimServer
from sim_control import SimControl

from gateway.terminal.errors import MT5Error, TerminalUnreachable
from gateway.terminal.pool import (
    AccountKey,
    Credentials,
    NoTerminalForServer,
    PoolBusy,
    TerminalPool,
)
from gateway.terminal.rpyc_client import RpycTerminal

A = AccountKey(10001, "Sim-Demo")
B = AccountKey(10002, "Sim-Demo")
C = AccountKey(10003, "Sim-Demo")
LIVE = AccountKey(20001, "Sim-Live")
PASSWORDS = {10001: "demo-10001", 10002: "demo-10002", 10003: "demo-10003", 20001: "live-20001"}
LONG = 30.0  # deadlines that must not expire in these tests


class Vault:
    """Async password provider per account that counts how often the pool asked."""

    def __init__(self, passwords: dict[int, str] | None = None) -> None:
        self.passwords = dict(passwords or PASSWORDS)
        self.asked: list[int] = []

    def __call__(self, account: AccountKey) -> Credentials:
        async def provide() -> str:
            self.asked.append(account.login)
            return self.passwords[account.login]

        return provide


def run(coro_fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coro_fn(), 120))


def terminals(server: SimServer, count: int | None = None, **kw: Any) -> list[RpycTerminal]:
    ports = server.ports if count is None else server.ports[:count]
    return [RpycTerminal(f"t{i + 1}", server.host, port, **kw) for i, port in enumerate(ports)]


def control(server: SimServer, index: int, name: str, **kwargs: Any) -> Any:
    """Run a simulator control on the server's terminal ``index`` over its own connection."""
    ctl = SimControl(server.host, server.ports[index])
    try:
        return ctl(name, **kwargs)
    finally:
        ctl.close()


def make_pool(server: SimServer, count: int | None = None, **kw: Any) -> TerminalPool:
    kw.setdefault("health_interval_s", 3600.0)  # tests call check_health() themselves
    kw.setdefault("linger_s", 0.01)
    return TerminalPool(terminals(server, count), **kw)


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` holds (the test's own timeout bounds it)."""
    while not condition():
        await asyncio.sleep(0.001)


class Recorder:
    """Runs sessions that record (login asked, terminal name, login the terminal really had)."""

    def __init__(self, pool: TerminalPool, vault: Vault) -> None:
        self.pool = pool
        self.vault = vault
        self.log: list[tuple[int, str]] = []

    async def request(self, account: AccountKey, gate: asyncio.Event | None = None) -> str:
        deadline = self.pool.deadline(LONG)
        async with self.pool.session(account, self.vault(account), deadline) as terminal:
            info = await terminal.account_info()
            assert info["login"] == account.login  # the session really holds the account
            self.log.append((account.login, terminal.name))
            if gate is not None:
                await gate.wait()
            return terminal.name

    def spawn(self, account: AccountKey, gate: asyncio.Event | None = None) -> asyncio.Task[str]:
        return asyncio.ensure_future(self.request(account, gate))

    async def hold(self, account: AccountKey) -> tuple[asyncio.Event, asyncio.Task[str]]:
        """A session for ``account`` that keeps its terminal until the event is set."""
        gate = asyncio.Event()
        started = len(self.log)
        task = self.spawn(account, gate)
        await until(lambda: len(self.log) > started)
        return gate, task

    async def queue(self, *accounts: AccountKey) -> list[asyncio.Task[str]]:
        """Requests that must wait, enqueued in this order."""
        tasks = []
        for account in accounts:
            queued = self.pool.snapshot().queued
            tasks.append(self.spawn(account))
            await until(lambda q=queued: self.pool.snapshot().queued == q + 1)  # type: ignore[misc]
        return tasks


def switches(pool: TerminalPool) -> dict[str, int]:
    return {t.name: t.switches for t in pool.snapshot().terminals}


def test_affinity_keeps_each_account_on_its_terminal(demo_server: SimServer) -> None:
    async def body() -> None:
        vault = Vault()
        async with make_pool(demo_server, 2) as pool:
            rec = Recorder(pool, vault)
            for account in (A, B, A, B, A, B, A):
                await rec.request(account)
            served = {login: {name for lg, name in rec.log if lg == login} for login, _ in rec.log}
            assert len(served[A.login]) == 1 and len(served[B.login]) == 1
            assert served[A.login] != served[B.login]
            assert pool.snapshot().switches == 2
            assert sorted(vault.asked) == [A.login, B.login]  # password fetched per switch only
            held = {t.name: t.login for t in pool.snapshot().terminals}
            assert held == {served[A.login].pop(): A.login, served[B.login].pop(): B.login}

    run(body)


def test_queued_requests_for_one_account_are_batched(demo_server: SimServer) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 2) as pool:
            rec = Recorder(pool, Vault())
            gate_a, first_a = await rec.hold(A)
            gate_c, held_c = await rec.hold(C)
            t_a = rec.log[0][1]
            waiting = await rec.queue(B, A, B, A)
            assert pool.snapshot().queued == 4
            gate_a.set()
            names = await asyncio.gather(first_a, *waiting)
            order = [login for login, _ in rec.log[2:]]
            assert order == [A.login, A.login, B.login, B.login]
            assert set(names) == {t_a}  # C's terminal was busy all along; A's did everything
            assert switches(pool)[t_a] == 2  # A once, then B once: not once per request
            gate_c.set()
            await held_c

    run(body)


def test_fairness_bound_lets_a_waiting_account_in(demo_server: SimServer) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 2, fairness_batch=2) as pool:
            rec = Recorder(pool, Vault())
            gate_a, first_a = await rec.hold(A)
            gate_c, held_c = await rec.hold(C)
            waiting = await rec.queue(B, A, A, A, A)
            gate_a.set()
            await asyncio.gather(first_a, *waiting)
            order = [login for login, _ in rec.log[2:]]
            assert order == [A.login, A.login, B.login, A.login, A.login]
            assert switches(pool)[rec.log[0][1]] == 3  # A, B, A
            gate_c.set()
            await held_c

    run(body)


def test_deadline_and_full_queue_answer_pool_busy(demo_server: SimServer) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 2, queue_limit=2) as pool:
            rec = Recorder(pool, Vault())
            gate_a, held_a = await rec.hold(A)
            gate_c, held_c = await rec.hold(C)
            with pytest.raises(PoolBusy) as expired:
                async with pool.session(B, Vault()(B), pool.deadline(0.05)):
                    pass
            assert expired.value.reason.startswith("deadline")
            assert expired.value.retry_after_s >= 1
            assert pool.snapshot().queued == 0
            waiting = await rec.queue(B, B)
            with pytest.raises(PoolBusy) as full:
                async with pool.session(B, Vault()(B), pool.deadline(LONG)):
                    pass
            assert full.value.reason == "queue full"
            assert full.value.retry_after_s >= 1
            assert pool.snapshot().rejected == 2
            gate_a.set()
            gate_c.set()
            await asyncio.gather(held_a, held_c, *waiting)
            assert [login for login, _ in rec.log[2:]] == [B.login, B.login]

    run(body)


def test_cancelled_waiter_leaves_the_queue(demo_server: SimServer) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 1) as pool:
            rec = Recorder(pool, Vault())
            gate, held = await rec.hold(A)
            (waiter,) = await rec.queue(B)
            waiter.cancel()
            await until(lambda: pool.snapshot().queued == 0)
            gate.set()
            await held
            assert await rec.request(C) == "t1"
            assert pool.snapshot().busy == 0

    run(body)


def test_concurrent_clients_always_get_their_own_account(demo_server: SimServer) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 2) as pool:
            rec = Recorder(pool, Vault())

            async def client(account: AccountKey) -> None:
                for _ in range(10):
                    await rec.request(account)

            await asyncio.gather(*(client(acc) for acc in (A, B, C)))
            assert len(rec.log) == 30  # each request checked account_info().login inside
            snap = pool.snapshot()
            assert snap.served == 30 and snap.busy == 0 and snap.queued == 0
            assert snap.switches < 10

    run(body)


def test_market_data_reuses_a_terminal_on_the_server(demo_server: SimServer) -> None:
    async def body() -> None:
        vault = Vault()
        async with make_pool(demo_server, 2) as pool:
            rec = Recorder(pool, vault)
            on_demo = await rec.request(A)
            async with pool.market_data("Sim-Demo", pool.deadline(LONG)) as terminal:
                assert terminal.name == on_demo
                bars = await terminal.copy_rates_from_pos("EURUSD", 16385, 0, 10)
                assert len(bars) == 10
            assert pool.snapshot().switches == 1
            with pytest.raises(NoTerminalForServer):
                async with pool.market_data("Sim-Live", pool.deadline(LONG)):
                    pass
            fallback = (LIVE, vault(LIVE))
            async with pool.market_data("Sim-Live", pool.deadline(LONG), fallback) as terminal:
                assert (await terminal.account_info())["server"] == "Sim-Live"
                live_terminal = terminal.name
            async with pool.market_data("Sim-Live", pool.deadline(LONG)) as terminal:
                assert terminal.name == live_terminal
            assert pool.snapshot().switches == 2
            assert vault.asked == [A.login, LIVE.login]

    run(body)


def test_failed_login_surfaces_the_mt5_error_and_marks_the_terminal(
    demo_server: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        vault = Vault({**PASSWORDS, B.login: "not-the-password"})
        async with make_pool(demo_server, 1) as pool:
            rec = Recorder(pool, vault)
            await rec.request(A)
            with pytest.raises(MT5Error) as failed:
                await rec.request(B)
            assert failed.value.code == -6
            (state,) = pool.snapshot().terminals
            assert state.healthy and state.login is None
            assert state.last_error is not None and "10002" in state.last_error
            await rec.request(A)  # the terminal is still usable
            assert pool.snapshot().terminals[0].login == A.login

    caplog.set_level(logging.DEBUG)
    run(body)
    assert "login to 10002@Sim-Demo failed" in caplog.text
    for secret in (*PASSWORDS.values(), "not-the-password"):
        assert secret not in caplog.text


def test_algo_trading_switched_off_is_flagged(
    demo_server: SimServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 1) as pool:
            rec = Recorder(pool, Vault())
            await rec.request(A)
            assert pool.snapshot().terminals[0].trade_allowed is True
            control(demo_server, 0, "set_algo_trading", enabled=False)
            try:
                await rec.request(B)
                assert pool.snapshot().terminals[0].trade_allowed is False
            finally:
                control(demo_server, 0, "set_algo_trading", enabled=True)

    caplog.set_level(logging.WARNING)
    run(body)
    assert "algo trading is OFF after switching to 10002@Sim-Demo" in caplog.text


def test_dropped_connection_takes_a_terminal_out_until_it_answers(
    demo_server: SimServer,
) -> None:
    async def body() -> None:
        async with make_pool(demo_server, 2) as pool:
            rec = Recorder(pool, Vault())
            first = await rec.request(A)
            index = int(first[1:]) - 1
            control(demo_server, index, "drop_connections")
            with pytest.raises(TerminalUnreachable):
                await rec.request(A)
            state = {t.name: t for t in pool.snapshot().terminals}
            assert not state[first].healthy and state[first].login is None
            other = await rec.request(A)
            assert other != first  # the dead terminal is out of rotation
            await pool.check_health()
            state = {t.name: t for t in pool.snapshot().terminals}
            assert state[first].healthy and state[first].login is None
            gate, held = await rec.hold(A)  # pin the other terminal ...
            assert await rec.request(B) == first  # ... and the returned one serves again
            gate.set()
            await held

    run(body)


def test_killed_server_is_removed_and_returns_after_restart(
    demo_server: SimServer, start_server: Callable[..., SimServer]
) -> None:
    second = start_server(terminals=1)

    async def body() -> None:
        pool = TerminalPool(
            [
                RpycTerminal("main", demo_server.host, demo_server.ports[2]),
                RpycTerminal("spare", second.host, second.port, connect_timeout_s=1.0),
            ],
            health_interval_s=3600.0,
            linger_s=0.0,
        )
        async with pool:
            rec = Recorder(pool, Vault())
            gate, held = await rec.hold(A)
            on_spare = await rec.request(B)
            assert {rec.log[0][1], on_spare} == {"main", "spare"}
            second.stop()
            await pool.check_health()
            state = {t.name: t for t in pool.snapshot().terminals}
            assert not state["spare"].healthy and state["spare"].last_error
            assert pool.snapshot().healthy == 1
            gate.set()
            await held
            for account in (B, A, B):
                assert await rec.request(account) == "main"
            start_server(terminals=1, port=second.port)
            await until_healthy(pool, "spare")
            gate, held = await rec.hold(B)
            assert await rec.request(C) == "spare"
            gate.set()
            await held

    run(body)


async def until_healthy(pool: TerminalPool, name: str) -> None:
    """Health checks until ``name`` answers (the client reconnects with a short backoff)."""
    while True:
        await pool.check_health()
        if next(t for t in pool.snapshot().terminals if t.name == name).healthy:
            return
        await asyncio.sleep(0.1)


def test_no_healthy_terminal_is_busy_at_once(start_server: Callable[..., SimServer]) -> None:
    server = start_server(terminals=1)

    async def body() -> None:
        pool = TerminalPool(
            [RpycTerminal("only", server.host, server.port, connect_timeout_s=1.0)],
            health_interval_s=3600.0,
        )
        async with pool:
            server.stop()
            await pool.check_health()
            with pytest.raises(PoolBusy) as busy:
                await pool.run(A, Vault()(A), _account_info, pool.deadline(LONG))
            assert busy.value.reason == "no healthy terminal"

    run(body)


async def _account_info(terminal: Any) -> Any:
    return await terminal.account_info()


def test_health_task_takes_out_and_brings_back_a_terminal(
    start_server: Callable[..., SimServer],
) -> None:
    server = start_server(terminals=1)

    async def body() -> None:
        terminal = RpycTerminal("only", server.host, server.port, connect_timeout_s=1.0)
        async with TerminalPool([terminal], health_interval_s=0.02) as pool:
            await pool.run(A, Vault()(A), _account_info, pool.deadline(LONG))
            server.stop()
            await until(lambda: pool.snapshot().healthy == 0)
            assert pool.snapshot().terminals[0].login is None
            start_server(terminals=1, port=server.port)
            await until(lambda: pool.snapshot().healthy == 1)
            info = await pool.run(B, Vault()(B), _account_info, pool.deadline(LONG))
            assert info["login"] == B.login

    run(body)


def test_hung_terminal_is_taken_out_until_it_answers_again(demo_server: SimServer) -> None:
    async def body() -> None:
        pool = TerminalPool(
            [RpycTerminal("t1", demo_server.host, demo_server.ports[0], timeout_s=5.0)],
            health_interval_s=3600.0,
            ping_timeout_s=0.2,
        )
        async with pool:
            await pool.run(A, Vault()(A), _account_info, pool.deadline(LONG))
            control(demo_server, 0, "hang_calls", seconds=2.0)
            try:
                await pool.check_health()
                (state,) = pool.snapshot().terminals
                assert not state.healthy and state.login is None
                assert state.last_error is not None and "Timeout" in state.last_error
            finally:
                control(demo_server, 0, "hang_calls", seconds=0.0)
            await until_healthy(pool, "t1")
            info = await pool.run(A, Vault()(A), _account_info, pool.deadline(LONG))
            assert info["login"] == A.login

    run(body)
