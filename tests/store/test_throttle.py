"""Login throttle rows on both databases: counting, locking, back-off, parallel attempts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.store import throttle
from gateway.store.throttle import Locked, Policy

pytestmark = pytest.mark.anyio

Maker = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = Policy(free=3, base_s=10, max_s=40, window_s=3600)
CALLER, TARGET = "user:u1", "mt5:10001@Sim-Demo"


async def attempt(maker: Maker, now: datetime, keys: tuple[str, ...] = (CALLER, TARGET)) -> None:
    async with session_scope(maker) as s:
        await throttle.begin(s, keys, POLICY, now)


async def fail(maker: Maker, now: datetime, keys: tuple[str, ...] = (CALLER, TARGET)) -> None:
    await attempt(maker, now, keys)
    async with session_scope(maker) as s:
        await throttle.failed(s, keys, POLICY, now)


async def retry_after(maker: Maker, now: datetime, keys: tuple[str, ...] = (CALLER, TARGET)) -> int:
    with pytest.raises(Locked) as refused:
        await attempt(maker, now, keys)
    return refused.value.retry_after_s


def test_policy_backoff_doubles_up_to_the_cap() -> None:
    locks = [POLICY.lock_for(n) for n in range(1, 8)]
    seconds = [lock.total_seconds() if lock else None for lock in locks]
    assert seconds == [None, None, 10, 20, 40, 40, 40]


async def test_free_attempts_then_a_growing_lock(sessionmaker: Maker) -> None:
    for i in range(3):
        await fail(sessionmaker, T0 + timedelta(seconds=i))
    now = T0 + timedelta(seconds=3)
    assert await retry_after(sessionmaker, now) == 9  # locked 10 s from the third failure
    async with session_scope(sessionmaker) as s:  # the refusal counted nothing
        rows = {r.key: r.failures for r in await throttle.listing(s)}
    assert rows == {CALLER: 3, TARGET: 3}
    later = T0 + timedelta(seconds=13)  # the lock ran out: one more try, then 20 s
    await fail(sessionmaker, later)
    assert await retry_after(sessionmaker, later + timedelta(seconds=1)) == 19
    # another caller on the same target is locked out too, and so is this caller elsewhere
    assert await retry_after(sessionmaker, later, ("user:u2", TARGET)) == 20
    assert await retry_after(sessionmaker, later, (CALLER, "mt5:10002@Sim-Demo")) == 20
    await attempt(sessionmaker, later, ("user:u2", "mt5:10002@Sim-Demo"))


async def test_success_clears_the_target_and_returns_the_callers_attempt(
    sessionmaker: Maker,
) -> None:
    for i in range(2):
        await fail(sessionmaker, T0 + timedelta(seconds=i))
    await attempt(sessionmaker, T0 + timedelta(seconds=5))  # the third: locks while it runs
    assert await retry_after(sessionmaker, T0 + timedelta(seconds=6)) == 9
    async with session_scope(sessionmaker) as s:
        await throttle.succeeded(s, [CALLER], [TARGET])
    async with session_scope(sessionmaker) as s:
        rows = {r.key: (r.failures, r.locked_until) for r in await throttle.listing(s)}
    assert rows == {CALLER: (2, None)}


async def test_released_attempts_do_not_count(sessionmaker: Maker) -> None:
    for i in range(10):
        await attempt(sessionmaker, T0 + timedelta(seconds=i))
        async with session_scope(sessionmaker) as s:
            await throttle.released(s, [CALLER, TARGET])
    async with session_scope(sessionmaker) as s:
        assert await throttle.listing(s) == []


async def test_window_and_prune_forget_idle_keys(sessionmaker: Maker) -> None:
    for i in range(3):
        await fail(sessionmaker, T0 + timedelta(seconds=i))
    much_later = T0 + timedelta(hours=2)
    await attempt(sessionmaker, much_later)  # idle past the window: counting starts again
    async with session_scope(sessionmaker) as s:
        assert {r.failures for r in await throttle.listing(s)} == {1}
        assert await throttle.prune(s, POLICY, much_later + timedelta(hours=2)) == 2
        assert await throttle.listing(s) == []


async def test_admin_listing_and_clear(sessionmaker: Maker) -> None:
    for i in range(3):
        await fail(sessionmaker, T0 + timedelta(seconds=i))
    await fail(sessionmaker, T0, ("user:u2", "mt5:1@X"))
    async with session_scope(sessionmaker) as s:
        locked = await throttle.listing(s, locked_at=T0 + timedelta(seconds=3))
        assert {r.key for r in locked} == {CALLER, TARGET}
        assert await throttle.clear(s, TARGET) == 1
    assert await retry_after(sessionmaker, T0 + timedelta(seconds=3)) == 9  # the caller still
    async with session_scope(sessionmaker) as s:
        assert await throttle.clear(s) == 3
    await attempt(sessionmaker, T0 + timedelta(seconds=3))


async def test_parallel_attempts_cannot_pass_the_allowance(db_url: str) -> None:
    """20 attempts at once from separate connections: exactly ``free`` get through."""
    engines = [make_engine(db_url) for _ in range(4)]
    makers = [make_sessionmaker(e) for e in engines]

    async def one(i: int) -> bool:
        try:
            await attempt(makers[i % len(makers)], T0)
        except Locked:
            return False
        return True

    try:
        passed = await asyncio.gather(*(one(i) for i in range(20)))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sum(passed) == POLICY.free
