"""Background journal sync (``gateway/journal/auto.py``), the loop object itself on a pool of its
own over a real simulator terminal and the gateway's real store (SQLite and PostgreSQL), next to
a gateway process that takes the trades and answers the journal's reads.

- An account with ``auto_sync`` on gets its trades into the journal without anyone calling
  ``/sync``; an account without it gets nothing. After the one switch that first brought the
  account in (the pool was idle), every later sync runs where it is resident, with no switch.
- Low priority: while the pool's only terminal serves another account the sync waits (no
  switch); a busy resident terminal is left alone for a few passes, then queued for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from conftest import ProcessStack, token_of
from gateway_process import GatewayProcess
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_sync import journal, script_hedging
from trading_support import Api, ok

from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.journal import store
from gateway.journal.auto import BUSY_SKIPS, AutoSync
from gateway.journal.models import JournalTrade
from gateway.store.crypto import Keyring
from gateway.terminal.pool import AccountKey, TerminalPool
from gateway.terminal.rpyc_client import RpycTerminal
from gateway.terminal.servertime import ServerClocks

BOUND_S = 60.0  # safety bound of every wait
HEDGING = AccountKey(10001, "Sim-Demo")
NETTING = AccountKey(10003, "Sim-Demo")


@asynccontextmanager
async def loop_for(
    stack: ProcessStack, **kw: Any
) -> AsyncIterator[tuple[AutoSync, TerminalPool, async_sessionmaker[AsyncSession]]]:
    """An AutoSync (not started) on a one-terminal pool over the simulator's second terminal."""
    terminal = RpycTerminal(
        "auto-1", stack.sim.host, stack.sim.ports[1], timeout_s=30, connect_timeout_s=5
    )
    engine = make_engine(stack.url)
    try:
        async with TerminalPool([terminal], health_interval_s=0.5) as pool:
            sessions = make_sessionmaker(engine)
            auto = AutoSync(
                pool=pool,
                sessions=sessions,
                clocks=ServerClocks({"Sim-Demo": 7200}),
                keyring=Keyring.parse(stack.key),
                settings=stack.settings,
                **kw,
            )
            yield auto, pool, sessions
    finally:
        await engine.dispose()


async def stored_trades(sessions: async_sessionmaker[AsyncSession], account: str) -> int:
    async with session_scope(sessions) as session:
        query = select(func.count()).where(JournalTrade.account_id == account)
        return int((await session.execute(query)).scalar_one())


async def until(predicate: Any) -> None:
    deadline = time.monotonic() + BOUND_S
    while not await predicate():
        assert time.monotonic() < deadline, "not within the safety bound"
        await asyncio.sleep(0.05)


async def run_in_background(stack: ProcessStack, account: str) -> tuple[int, int]:
    """Run the loop until it has synced ``account`` three times; (trades stored, switches)."""
    async with loop_for(stack, interval_s=0.2, tick_s=0.05) as (auto, pool, sessions):
        assert await stored_trades(sessions, account) == 0
        async with auto:

            async def three_syncs() -> bool:
                return auto.runs[account] >= 3

            await until(three_syncs)
        return await stored_trades(sessions, account), pool.snapshot().switches


def test_auto_sync_account_gets_its_trades_without_a_sync_call(
    process_stack: ProcessStack, jwks: Any
) -> None:
    stack = process_stack
    stack.fresh_world()
    hedging, netting = stack.ids.hedging, stack.ids.netting
    with stack.gateway() as gw, Api(gw.url, token_of(jwks, "trader-1"), hedging) as api:
        status = ok(api.http.put(f"/accounts/{hedging}/sync", json={"auto_sync": True}))
        assert status["auto_sync"] is True and status["synced_at"] is None
        closing = script_hedging(api, stack.control, set())
        ok(api.trade("EURUSD", "buy", 0.1, account=netting))  # netting: no auto_sync
        (position,) = api.positions(account_id=netting)
        ok(api.delete(f"/positions/{position['ticket']}", account=netting))

        stored, switches = asyncio.run(run_in_background(stack, hedging))
        assert stored == 6
        assert switches == 1  # the first visit, the pool idle; then resident, never again

        rows = journal(api, hedging)
        assert len(rows) == 6 and {r["close_deal"] for r in rows} == closing
        assert journal(api, netting) == []
        status = ok(api.http.get(f"/accounts/{hedging}/sync"))
        assert status["synced_at"] is not None and status["last_error"] is None


async def priorities(stack: ProcessStack) -> None:
    hedging = stack.ids.hedging
    async with loop_for(stack, interval_s=0, timeout_s=5) as (auto, pool, sessions):  # all due
        async with session_scope(sessions) as session:
            await store.set_auto(session, hedging, True)
            await store.set_auto(session, "no-such-account", True)
        start = pool.snapshot().switches

        # the only terminal serves another account: nothing done, no switch
        async with pool.session(NETTING, lambda: "demo-10003", pool.deadline(BOUND_S)):
            assert await auto.run_once() == {hedging: "away", "no-such-account": "gone"}
        assert pool.snapshot().switches == start + 1  # the netting session's own
        assert pool.snapshot().rejected == 0  # it did not even queue

        # idle now (logged into the netting account): a visit, one switch
        assert (await auto.run_once())[hedging] == "synced"
        assert pool.snapshot().switches == start + 2
        # resident: synced where it is
        assert (await auto.run_once())[hedging] == "synced"
        assert pool.snapshot().switches == start + 2

        # resident but its terminal busy: left alone, then queued for like one request
        async with pool.session(HEDGING, lambda: "demo-10001", pool.deadline(BOUND_S)):
            for _ in range(BUSY_SKIPS):
                assert (await auto.run_once())[hedging] == "busy"
            queued = asyncio.create_task(auto.run_once())

            async def waiting() -> bool:
                return pool.snapshot().queued == 1

            await until(waiting)
        assert (await queued)[hedging] == "synced"
        assert pool.snapshot().switches == start + 2
        assert auto.runs[hedging] == 3


def test_low_priority_never_switches_a_terminal_someone_is_using(
    process_stack: ProcessStack,
) -> None:
    process_stack.fresh_world()
    asyncio.run(priorities(process_stack))


def test_the_gateway_runs_the_background_sync(process_stack: ProcessStack, jwks: Any) -> None:
    """create_app wires AutoSync: with JOURNAL_AUTO_SYNC_S set, an opted-in account's trades
    reach the journal while nobody calls /sync."""
    stack = process_stack
    stack.fresh_world()
    hedging = stack.ids.hedging
    with (
        GatewayProcess({**stack.env, "JOURNAL_AUTO_SYNC_S": "0.5"}) as gw,
        Api(gw.url, token_of(jwks, "trader-1"), hedging) as api,
    ):
        ok(api.http.put(f"/accounts/{hedging}/sync", json={"auto_sync": True}))
        closing = script_hedging(api, stack.control, set())
        give_up = time.monotonic() + BOUND_S
        while time.monotonic() < give_up:
            if {r["close_deal"] for r in journal(api, hedging)} == closing:
                break
            time.sleep(0.2)
        assert {r["close_deal"] for r in journal(api, hedging)} == closing
        assert ok(api.http.get(f"/accounts/{hedging}/sync"))["synced_at"] is not None
