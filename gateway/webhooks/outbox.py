"""The webhook outbox in the store: what is owed to whom, in which order.

Rows are added in the transaction that stores the events (:func:`enqueue`), so an event that
exists is owed to every matching endpoint, even if the gateway stops right after: delivery is
at least once. Per (endpoint, account) the rows go out in ``seq`` order: only the oldest pending
row of each is ever *due* (:func:`due_heads`), so a failing row holds the ones after it.

Several workers (one per gateway replica) may share the store: a worker attempts a due head
only after :func:`claim` gave it the row, one conditional ``UPDATE`` that succeeds for one
worker only; the claim lapses at ``claimed_until`` (the store's clock, :func:`store_now`), so
the rows of a worker that died mid-attempt are attempted again (at least once). A claimed head
is not due, and holds the rows after it like a failing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway.events.schema import Event, iso
from gateway.store.models import Mt5Account, utcnow
from gateway.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def wanted(event_types: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint's filter takes ``event_type`` (empty filter: everything)."""
    if not event_types:
        return True
    return event_type in event_types or f"{event_type.split('.', 1)[0]}.*" in event_types


def payload(event: Event) -> dict[str, Any]:
    """The request body: Standard Webhooks' ``type``/``timestamp``/``data`` envelope around
    the event exactly as the stream sends it."""
    return {"type": event.type, "timestamp": iso(event.time), "data": event.message()}


async def endpoints_for(session: AsyncSession, account_id: str) -> list[WebhookEndpoint]:
    """Enabled endpoints that follow ``account_id``: named, or "all accounts" of its owner."""
    owner = await session.scalar(select(Mt5Account.user_id).where(Mt5Account.id == account_id))
    match = WebhookEndpoint.account_id == account_id
    if owner is not None:
        match = or_(
            match,
            (WebhookEndpoint.account_id.is_(None)) & (WebhookEndpoint.user_id == owner),
        )
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True), match)
    return list((await session.scalars(stmt)).all())


async def enqueue(session: AsyncSession, events: Sequence[Event]) -> int:
    """Owe ``events`` (of one account) to every endpoint that wants them; how many rows."""
    if not events:
        return 0
    endpoints = await endpoints_for(session, events[0].account_id)
    rows = [
        _delivery(endpoint.id, event)
        for endpoint in endpoints
        for event in events
        if wanted(endpoint.event_types, event.type)
    ]
    session.add_all(rows)
    await session.flush()
    return len(rows)


def _delivery(endpoint_id: str, event: Event) -> WebhookDelivery:
    now = utcnow()
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        account_id=event.account_id,
        event_id=event.id,
        seq=event.seq,
        event_type=event.type,
        payload=payload(event),
        status=DeliveryStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )


async def replay(session: AsyncSession, endpoint: WebhookEndpoint, events: Sequence[Event]) -> int:
    """Owe ``events`` to ``endpoint`` again (pending rows from the first of them on are
    replaced, so nothing goes out twice because of the replay itself)."""
    if events:
        await session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.account_id == events[0].account_id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.seq >= events[0].seq,
            )
        )
    rows = [_delivery(endpoint.id, e) for e in events if wanted(endpoint.event_types, e.type)]
    session.add_all(rows)
    await session.flush()
    return len(rows)


async def store_now(session: AsyncSession) -> datetime:
    """The store's clock on PostgreSQL (replicas on machines whose clocks differ agree on when
    a claim lapses); SQLite is one process, whose clock it is."""
    if session.get_bind().dialect.name == "postgresql":
        now = await session.scalar(select(func.now()))
        assert isinstance(now, datetime)
        return now
    return utcnow()


def _unclaimed(at: datetime) -> ColumnElement[bool]:
    return or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= at)


async def due_heads(
    session: AsyncSession, now: datetime, limit: int = 64, *, claims_at: datetime | None = None
) -> list[WebhookDelivery]:
    """The oldest pending row of each (enabled endpoint, account), when its time has come and
    nobody holds its claim at ``claims_at`` (the store's clock; default ``now``)."""
    heads = (
        select(
            WebhookDelivery.endpoint_id,
            WebhookDelivery.account_id,
            func.min(WebhookDelivery.seq).label("seq"),
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookEndpoint.enabled.is_(True),
        )
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.account_id)
        .subquery()
    )
    stmt = (
        select(WebhookDelivery)
        .join(
            heads,
            (heads.c.endpoint_id == WebhookDelivery.endpoint_id)
            & (heads.c.account_id == WebhookDelivery.account_id)
            & (heads.c.seq == WebhookDelivery.seq),
        )
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            _unclaimed(now if claims_at is None else claims_at),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    rows = list((await session.scalars(stmt)).all())
    seen: set[tuple[str, str]] = set()
    unique = []
    for row in rows:  # two rows of one seq (cannot happen, but never deliver out of order)
        if (row.endpoint_id, row.account_id) not in seen:
            seen.add((row.endpoint_id, row.account_id))
            unique.append(row)
    return unique


async def claim(
    session: AsyncSession,
    ids: Sequence[int],
    worker: str,
    *,
    now: datetime,
    claims_at: datetime,
    lease_s: float,
) -> set[int]:
    """Claim the rows ``ids`` for ``worker`` until ``claims_at`` + ``lease_s``; the ids it got.

    One ``UPDATE``: a row is taken only if it is still pending, due at ``now``, unclaimed (or
    its claim lapsed) at ``claims_at``, and still the head of its (endpoint, account) (no older
    pending row), so two workers that read the same heads never both get one. On PostgreSQL
    the rows are picked ``FOR UPDATE SKIP LOCKED``: a row another transaction holds (claiming
    or recording it) is left, never waited for. Commit before attempting, so the others see
    the claim."""
    if not ids:
        return set()
    row, older = aliased(WebhookDelivery, name="head"), aliased(WebhookDelivery, name="older")
    before = (
        select(older.id)
        .where(
            older.endpoint_id == row.endpoint_id,
            older.account_id == row.account_id,
            older.status == DeliveryStatus.PENDING,
            older.seq < row.seq,
        )
        .exists()
    )
    free = (
        select(row.id)
        .where(
            row.id.in_(ids),
            row.status == DeliveryStatus.PENDING,
            row.next_attempt_at <= now,
            or_(row.claimed_until.is_(None), row.claimed_until <= claims_at),
            ~before,
        )
        .with_for_update(of=row, skip_locked=True)  # PostgreSQL: rows another worker holds
    )
    stmt = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(free.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=claims_at + timedelta(seconds=lease_s))
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return set((await session.scalars(stmt)).all())


async def release(session: AsyncSession, worker: str) -> int:
    """Give up every claim of ``worker`` (it stops): its rows are due to the others at once."""
    stmt = (
        update(WebhookDelivery)
        .where(WebhookDelivery.claimed_by == worker)
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def new_endpoint_id() -> str:
    return str(uuid.uuid4())
