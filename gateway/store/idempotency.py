"""Idempotency keys: one claim per (user, ``Idempotency-Key``), safe under concurrency.

Flow for a state-changing call carrying a key:

1. ``claim = await begin(session, ...)`` **in its own transaction, committed before the order
   is sent**, so concurrent duplicates see the claim;
2. by ``claim.outcome``: ``STARTED`` → do the work; ``COMPLETED`` → replay
   ``claim.record.response_status`` / ``response_body``; ``IN_PROGRESS`` → 409;
   ``MISMATCH`` (same key, different request) → 422;
3. ``await complete(session, claim.record, status_code=..., body=...)`` with the answer, or
   ``await release(...)`` if nothing reached the terminal and the client may simply retry.
   Code that no longer holds the record (background reconciliation) uses
   :func:`complete_key` / :func:`release_key`: one UPDATE or DELETE, no read first.

The claim is an ``INSERT … ON CONFLICT DO NOTHING`` on the (user_id, key) unique constraint
(PostgreSQL and SQLite both speak it): of many concurrent inserts exactly one creates the row;
PostgreSQL makes the others wait for the winner's commit, SQLite serializes writers, and the
losers then read the winner's row. No savepoint, no failed statement left in the session.
Expired claims are replaced as if absent; :func:`purge_expired` deletes them in bulk.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from gateway.store.models import IdempotencyKey, IdempotencyStatus, utcnow
from gateway.validation import storable

DEFAULT_TTL = timedelta(hours=24)


class Outcome(enum.StrEnum):
    STARTED = "started"  # this caller owns the key: do the work
    IN_PROGRESS = "in_progress"  # someone else is doing it right now
    COMPLETED = "completed"  # done before: replay the stored response
    MISMATCH = "mismatch"  # the key was used for a different request


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record: IdempotencyKey


def request_hash(payload: Any) -> str:
    """A stable fingerprint of a request body (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def begin(
    session: AsyncSession,
    *,
    user_id: str,
    key: str,
    request_hash: str,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> Claim:
    """Claim ``key`` for ``user_id``, or report what already holds it."""
    now = now or utcnow()
    new_id = await _insert(session, user_id, key, request_hash, now, now + ttl)
    if new_id is not None:  # the row is exactly what was inserted: no need to read it back
        record = IdempotencyKey(
            id=new_id,
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            status=IdempotencyStatus.IN_PROGRESS,
            response_status=None,
            response_body=None,
            created_at=now,
            expires_at=now + ttl,
        )
        make_transient_to_detached(record)
        session.add(record)
        return Claim(Outcome.STARTED, record)
    record = await _load(session, user_id, key)
    if record.expires_at <= now:
        await session.delete(record)
        await session.flush()
        return await begin(
            session, user_id=user_id, key=key, request_hash=request_hash, ttl=ttl, now=now
        )
    return Claim(_judge(record, request_hash), record)


async def complete(
    session: AsyncSession, record: IdempotencyKey, *, status_code: int, body: Any
) -> None:
    """Store the final answer; later retries with the same key get exactly this."""
    session.add(record)  # usually claimed in an earlier, committed session
    record.status = IdempotencyStatus.COMPLETED
    record.response_status = status_code
    record.response_body = storable(body)
    await session.flush()


async def complete_key(
    session: AsyncSession, *, user_id: str, key: str, status_code: int, body: Any
) -> None:
    """:func:`complete` by (user, key) if it is still in progress (a stored answer is never
    replaced), without loading the record."""
    stmt = (
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS,
        )
        .values(
            status=IdempotencyStatus.COMPLETED,
            response_status=status_code,
            response_body=storable(body),
        )
    )
    await session.execute(stmt.execution_options(synchronize_session=False))


async def release_key(session: AsyncSession, *, user_id: str, key: str) -> None:
    """:func:`release` by (user, key) if it is still in progress, without loading it."""
    stmt = delete(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id,
        IdempotencyKey.key == key,
        IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS,
    )
    await session.execute(stmt.execution_options(synchronize_session=False))


async def release(session: AsyncSession, record: IdempotencyKey) -> None:
    """Forget an unfinished claim (nothing was sent), so the client may retry the key."""
    session.add(record)
    await session.delete(record)
    await session.flush()


async def find(session: AsyncSession, *, user_id: str, key: str) -> IdempotencyKey | None:
    """The user's record of ``key``, if any."""
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    return (await session.scalars(stmt)).one_or_none()


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    stmt = delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def _judge(record: IdempotencyKey, request_hash: str) -> Outcome:
    if record.request_hash != request_hash:
        return Outcome.MISMATCH
    if record.status == IdempotencyStatus.COMPLETED:
        return Outcome.COMPLETED
    return Outcome.IN_PROGRESS


async def _insert(
    session: AsyncSession,
    user_id: str,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
) -> int | None:
    """The new row's id, or None if (user, key) exists already."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(IdempotencyKey)
        .values(
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            status=IdempotencyStatus.IN_PROGRESS,
            created_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    new_id: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return new_id


async def _load(session: AsyncSession, user_id: str, key: str) -> IdempotencyKey:
    stmt = (
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()
