"""Login throttle rows: failed credential attempts per key, and how long each key is locked.

A key names a caller (``user:<sub>``, ``ip:<address>``) or a target (``mt5:<login>@<server>``,
``apikey:<prefix>``). One attempt touches a caller key and usually a target key:

- :func:`begin` counts the attempt *before* any work is done, in one transaction: if any key is
  locked nothing is counted and :class:`Locked` is raised; otherwise each key's ``failures`` goes
  up by one and a key that reaches the free allowance is locked at once. Counting first means
  parallel guesses cannot all slip through before the first one fails.
- :func:`failed` keeps the count and extends the lock from now (the back-off doubles with each
  failure past the allowance, up to a cap).
- :func:`succeeded` clears the target (the right password was proven) and gives the caller back
  the attempt; :func:`released` gives every key back its attempt (the attempt proved nothing, e.g.
  the terminal was down).

:func:`proven_logins` reads which of a user's MT5 logins they have proven before (a live stored
account that has connected): the throttle does not count those targets against them.

The count and lock live in the store, so a restart keeps them and every replica shares them. The
counting statement is an upsert whose ``WHERE`` refuses a locked row: on PostgreSQL a concurrent
upsert waits for the row lock and re-checks it; SQLite has one writer at a time. Both databases
support ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.models import LoginThrottle, Mt5Account

TABLE = cast(Table, LoginThrottle.__table__)


@dataclass(frozen=True)
class Policy:
    """``free`` attempts, then a lock of ``base_s`` doubling per further failure up to
    ``max_s``; a key idle for ``window_s`` starts again from zero."""

    free: int = 5
    base_s: float = 30.0
    max_s: float = 900.0
    window_s: float = 86_400.0

    def lock_for(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 30)  # 2**30 × base is past any sane cap
        return timedelta(seconds=min(self.base_s * 2**doublings, self.max_s))


class Locked(Exception):
    """Some key of the attempt is locked; ``retry_after_s`` until the last of them opens."""

    def __init__(self, keys: Sequence[str], retry_after_s: int) -> None:
        super().__init__(f"locked for {retry_after_s} s")
        self.keys = tuple(keys)
        self.retry_after_s = retry_after_s


def _upsert(session: AsyncSession, key: str, now: datetime) -> postgresql.Insert | sqlite.Insert:
    values = {"key": key, "failures": 1, "last_attempt_at": now, "locked_until": None}
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(TABLE).values(values)
    return sqlite.insert(TABLE).values(values)


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


async def begin(
    session: AsyncSession, keys: Sequence[str], policy: Policy, now: datetime
) -> dict[str, int]:
    """Count one attempt on every key (or raise :class:`Locked`, counting nothing: the caller's
    transaction must roll back). Returns each key's count including this attempt."""
    stale = now - timedelta(seconds=policy.window_s)
    counts: dict[str, int] = {}
    locked: list[str] = []
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two attempts
        stmt = (
            _upsert(session, key, now)
            .on_conflict_do_update(
                index_elements=[TABLE.c.key],
                set_={
                    "failures": case(
                        (TABLE.c.last_attempt_at < stale, 1), else_=TABLE.c.failures + 1
                    ),
                    "last_attempt_at": now,
                },
                where=or_(TABLE.c.locked_until.is_(None), TABLE.c.locked_until <= now),
            )
            .returning(TABLE.c.failures)
        )
        failures = (await session.execute(stmt)).scalar_one_or_none()
        if failures is None:
            locked.append(key)
            continue
        counts[key] = failures
        lock = policy.lock_for(failures)
        if lock is not None:
            await _set_lock(session, key, now + lock)
    if locked:
        rows = await session.scalars(select(TABLE.c.locked_until).where(TABLE.c.key.in_(locked)))
        until = max((u for u in rows if u is not None), default=now)
        raise Locked(locked, seconds_until(until, now))
    return counts


async def _set_lock(session: AsyncSession, key: str, until: datetime) -> None:
    await session.execute(update(TABLE).where(TABLE.c.key == key).values(locked_until=until))


async def failed(
    session: AsyncSession, keys: Sequence[str], policy: Policy, now: datetime
) -> datetime | None:
    """The attempt failed: its counts stay, locks run from now. The latest lock, if any."""
    latest: datetime | None = None
    for key in sorted(set(keys)):
        row = await session.get(LoginThrottle, key, with_for_update=True)
        if row is None:  # cleared by an admin meanwhile
            continue
        lock = policy.lock_for(row.failures)
        if lock is not None:
            until = now + lock
            row.locked_until = max(until, row.locked_until) if row.locked_until else until
            latest = max(latest, row.locked_until) if latest else row.locked_until
    await session.flush()
    return latest


async def succeeded(session: AsyncSession, callers: Sequence[str], targets: Sequence[str]) -> None:
    """The credentials were right: targets start afresh, callers get their attempt back."""
    if targets:
        await session.execute(delete(TABLE).where(TABLE.c.key.in_(sorted(set(targets)))))
    await released(session, callers)


async def released(session: AsyncSession, keys: Sequence[str]) -> None:
    """The attempt proved nothing either way: give each key its attempt back."""
    if not keys:
        return
    chosen = sorted(set(keys))
    await session.execute(
        update(TABLE)
        .where(TABLE.c.key.in_(chosen))
        .values(
            failures=case((TABLE.c.failures > 0, TABLE.c.failures - 1), else_=0),
            locked_until=None,
        )
    )
    await session.execute(delete(TABLE).where(TABLE.c.key.in_(chosen), TABLE.c.failures <= 0))


async def prune(session: AsyncSession, policy: Policy, now: datetime) -> int:
    """Forget keys idle for longer than the window whose lock (if any) has run out."""
    stale = now - timedelta(seconds=policy.window_s)
    result = await session.execute(
        delete(TABLE).where(
            TABLE.c.last_attempt_at < stale,
            or_(TABLE.c.locked_until.is_(None), TABLE.c.locked_until <= now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def proven_logins(
    session: AsyncSession, user_id: str, logins: Sequence[int]
) -> list[tuple[int, str]]:
    """``(login, server)`` of the user's live accounts among ``logins`` that have connected."""
    stmt = select(Mt5Account.login, Mt5Account.server).where(
        Mt5Account.user_id == user_id,
        Mt5Account.login.in_(list(logins)),
        Mt5Account.deleted_at.is_(None),
        Mt5Account.last_seen_at.is_not(None),
    )
    return [(login, server) for login, server in (await session.execute(stmt)).all()]


async def listing(
    session: AsyncSession, *, locked_at: datetime | None = None
) -> list[LoginThrottle]:
    """Every counted key, most recent first; only those locked at ``locked_at`` if given."""
    stmt = select(LoginThrottle).order_by(LoginThrottle.last_attempt_at.desc()).limit(1000)
    if locked_at is not None:
        stmt = stmt.where(LoginThrottle.locked_until > locked_at)
    return list((await session.scalars(stmt)).all())


async def clear(session: AsyncSession, key: str | None = None) -> int:
    """Forget one key (or every key): its count and its lock. How many rows went."""
    stmt = delete(TABLE) if key is None else delete(TABLE).where(TABLE.c.key == key)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
