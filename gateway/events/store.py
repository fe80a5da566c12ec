"""The account event log: numbering, appending, reading after a ``seq``, pruning.

Numbers are handed out by one statement on the account's ``event_streams`` row::

    INSERT ... ON CONFLICT (account_id) DO UPDATE SET seq = event_streams.seq + :n
    RETURNING seq

On PostgreSQL the conflicting row is locked until the transaction ends, so a second writer
(another gateway process) waits and then continues from the committed number: no two events of
an account ever share a ``seq`` and none is skipped. SQLite has one writer at a time anyway.
Like every repository here, these functions only flush; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events.models import AccountEvent, EventStream
from gateway.events.schema import Event, EventDraft, from_ms
from gateway.store.models import utcnow


def _upsert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def advance(
    session: AsyncSession,
    account_id: str,
    count: int,
    *,
    state: dict[str, Any],
    as_of: datetime | None,
) -> int:
    """Reserve ``count`` numbers for ``account_id`` and save its state; the last number."""
    insert = _upsert(session.get_bind().dialect.name)
    now = utcnow()
    stmt = insert(EventStream).values(
        account_id=account_id, seq=count, state=state, as_of=as_of, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[EventStream.account_id],
        set_={
            "seq": EventStream.seq + count,
            "state": stmt.excluded.state,
            "as_of": stmt.excluded.as_of,
            "updated_at": now,
        },
    ).returning(EventStream.seq)
    return int((await session.execute(stmt)).scalar_one())


async def append(
    session: AsyncSession,
    account_id: str,
    drafts: Sequence[EventDraft],
    *,
    state: dict[str, Any],
    as_of: datetime | None,
    reconciled: bool = False,
) -> list[Event]:
    """Number and store ``drafts`` (already in order) and save the state they lead to."""
    last = await advance(session, account_id, len(drafts), state=state, as_of=as_of)
    first = last - len(drafts) + 1
    recorded = utcnow()
    rows = [
        AccountEvent(
            id=str(uuid.uuid4()),
            account_id=account_id,
            seq=first + i,
            channel=d.channel,
            type=d.type,
            time=from_ms(d.time_ms),
            recorded_at=recorded,
            reconciled=reconciled,
            cause=d.cause,
            data=d.data,
        )
        for i, d in enumerate(drafts)
    ]
    session.add_all(rows)
    await session.flush()
    return [to_event(r) for r in rows]


def to_event(row: AccountEvent) -> Event:
    return Event(
        id=row.id,
        account_id=row.account_id,
        seq=row.seq,
        channel=row.channel,
        type=row.type,
        time=row.time,
        reconciled=row.reconciled,
        cause=row.cause,
        data=row.data,
    )


async def stream_of(session: AsyncSession, account_id: str) -> EventStream | None:
    return await session.get(EventStream, account_id, populate_existing=True)


async def lock_stream(session: AsyncSession, account_id: str) -> EventStream | None:
    """The account's counter row, locked until the transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway): a writer sees what another one recorded before numbering more."""
    stmt = (
        select(EventStream)
        .where(EventStream.account_id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()


async def events_after(
    session: AsyncSession,
    account_id: str,
    after: int,
    *,
    limit: int = 500,
    channels: Sequence[str] | None = None,
    upto: int | None = None,
) -> list[Event]:
    """Stored events of ``account_id`` with ``seq > after`` (and ``<= upto``), oldest first."""
    stmt = select(AccountEvent).where(
        AccountEvent.account_id == account_id, AccountEvent.seq > after
    )
    if upto is not None:
        stmt = stmt.where(AccountEvent.seq <= upto)
    if channels is not None:
        stmt = stmt.where(AccountEvent.channel.in_(list(channels)))
    stmt = stmt.order_by(AccountEvent.seq).limit(limit)
    return [to_event(r) for r in (await session.scalars(stmt)).all()]


async def replayable(session: AsyncSession, account_id: str, after: int) -> tuple[bool, int]:
    """(whether every event after ``after`` is still stored, the account's current seq)."""
    stream = await stream_of(session, account_id)
    current = stream.seq if stream is not None else 0
    if after >= current:
        return after == current, current  # beyond the current seq: another store's numbers
    oldest = await session.scalar(
        select(func.min(AccountEvent.seq)).where(AccountEvent.account_id == account_id)
    )
    return oldest is not None and oldest <= after + 1, current


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget events recorded before ``before``; how many."""
    result = await session.execute(delete(AccountEvent).where(AccountEvent.recorded_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
