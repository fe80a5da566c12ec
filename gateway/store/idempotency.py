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

The trading desk claims a key together with the request row it is about to send, in one
ledger transaction (``gateway.store.transact``): :func:`claim_row` (the same insert; ``None``
when claimed), then :func:`complete_row` / :func:`release_row` / :func:`store_row` with the
result, audit entry and row state in the settling transaction.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from gateway.store.models import IdempotencyKey, IdempotencyStatus, utcnow
from gateway.store.transact import Statement, Tx
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


def _claim_stmt(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(IdempotencyKey)
        .values(
            user_id=bindparam("p_user_id"),
            key=bindparam("p_key"),
            request_hash=bindparam("p_hash"),
            status=bindparam("p_status"),
            created_at=bindparam("p_now"),
            expires_at=bindparam("p_expires"),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )


_CLAIM = Statement(_claim_stmt)
_HELD = Statement(
    lambda _: select(*IdempotencyKey.__table__.columns).where(
        IdempotencyKey.user_id == bindparam("p_user_id"), IdempotencyKey.key == bindparam("p_key")
    )
)
_DROP = Statement(lambda _: delete(IdempotencyKey).where(IdempotencyKey.id == bindparam("p_id")))


def completion_stmt(prefix: str) -> Update:
    """The key's completion: an in-progress key of ``{prefix}user_id`` and ``{prefix}key``
    gets its answer (``{prefix}status_code``, ``{prefix}body``). Alone, or as part of a
    larger statement (``gateway/store/trades.py``)."""
    return (
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == bindparam(f"{prefix}user_id"),
            IdempotencyKey.key == bindparam(f"{prefix}key"),
            IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS,
        )
        .values(
            status=IdempotencyStatus.COMPLETED,
            response_status=bindparam(f"{prefix}status_code"),
            response_body=bindparam(f"{prefix}body"),
        )
    )


_COMPLETE = Statement(lambda _: completion_stmt("p_"))
_RELEASE = Statement(
    lambda _: delete(IdempotencyKey).where(
        IdempotencyKey.user_id == bindparam("p_user_id"),
        IdempotencyKey.key == bindparam("p_key"),
        IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS,
    )
)


def claim_row(
    tx: Tx,
    *,
    user_id: str,
    key: str,
    request_hash: str,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> Claim | None:
    """:func:`begin` in a ledger transaction: ``None`` when this call now holds the key, else
    the claim of what holds it (in progress, completed or another request; nothing written)."""
    now = now or utcnow()
    values = {
        "p_user_id": user_id,
        "p_key": key,
        "p_hash": request_hash,
        "p_status": IdempotencyStatus.IN_PROGRESS,
        "p_now": now,
        "p_expires": now + ttl,
    }
    if tx.run(_CLAIM, values):
        return None
    holder = held_row(tx, user_id=user_id, key=key, request_hash=request_hash, now=now)
    if holder is None:  # it had expired and is gone: claim it afresh
        return claim_row(tx, user_id=user_id, key=key, request_hash=request_hash, ttl=ttl, now=now)
    return holder


def held_row(
    tx: Tx, *, user_id: str, key: str, request_hash: str, now: datetime | None = None
) -> Claim | None:
    """What holds ``key`` (its claim judged against ``request_hash``), or ``None`` when it is
    free; an expired record is deleted and counts as free."""
    rows = tx.run(_HELD, {"p_user_id": user_id, "p_key": key})
    if not rows:
        return None
    names = [column.key for column in IdempotencyKey.__table__.columns]
    record = IdempotencyKey(**dict(zip(names, rows[0], strict=True)))
    if record.expires_at <= (now or utcnow()):
        tx.run(_DROP, {"p_id": record.id})
        return None
    return Claim(_judge(record, request_hash), record)


def complete_row(tx: Tx, *, user_id: str, key: str, status_code: int, body: Any) -> None:
    """:func:`complete_key` in a ledger transaction."""
    values = {"p_user_id": user_id, "p_key": key, "p_status_code": status_code}
    tx.run(_COMPLETE, {**values, "p_body": storable(body)})


def release_row(tx: Tx, *, user_id: str, key: str) -> None:
    """:func:`release_key` in a ledger transaction."""
    tx.run(_RELEASE, {"p_user_id": user_id, "p_key": key})


def store_row(
    tx: Tx,
    *,
    user_id: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> Claim | None:
    """Record the answer of a call that claimed nothing before (it sent nothing) as completed;
    when the key is held already, nothing is written and the holder's claim is returned (its
    answer stands: a replay, or the call still in progress)."""
    holder = claim_row(tx, user_id=user_id, key=key, request_hash=request_hash, ttl=ttl, now=now)
    if holder is None:
        complete_row(tx, user_id=user_id, key=key, status_code=status_code, body=body)
    return holder


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
    stmt = _complete_stmt(user_id, key, status_code, body)
    await session.execute(stmt.execution_options(synchronize_session=False))


async def release_key(session: AsyncSession, *, user_id: str, key: str) -> None:
    """:func:`release` by (user, key) if it is still in progress, without loading it."""
    stmt = _release_stmt(user_id, key)
    await session.execute(stmt.execution_options(synchronize_session=False))


def _complete_stmt(user_id: str, key: str, status_code: int, body: Any) -> Any:
    return (
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


def _release_stmt(user_id: str, key: str) -> Any:
    return delete(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id,
        IdempotencyKey.key == key,
        IdempotencyKey.status == IdempotencyStatus.IN_PROGRESS,
    )


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
    stmt = _insert_stmt(dialect, user_id, key, request_hash, now, expires_at)
    new_id: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return new_id


def _insert_stmt(
    dialect: str,
    user_id: str,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
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


async def _load(session: AsyncSession, user_id: str, key: str) -> IdempotencyKey:
    stmt = (
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one()
