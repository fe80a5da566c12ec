"""Reading and writing broadcasts, their targets and account tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.broadcast.models import AccountTag, Broadcast, BroadcastTarget
from gateway.store.models import Mt5Account


async def target_accounts(
    session: AsyncSession, users: Sequence[str], ids: Sequence[str], tag: str | None
) -> list[Mt5Account]:
    """Live accounts of ``users``, with ids ``ids``, or tagged ``tag``; each once."""
    a = Mt5Account
    wanted = []
    if users:
        wanted.append(a.user_id.in_(users))
    if ids:
        wanted.append(a.id.in_(ids))
    if tag is not None:
        wanted.append(a.id.in_(select(AccountTag.account_id).where(AccountTag.tag == tag)))
    query = select(a).where(a.deleted_at.is_(None), or_(*wanted)).order_by(a.server, a.id)
    return list((await session.execute(query)).scalars())


async def find_by_key(session: AsyncSession, admin: str, key: str) -> Broadcast | None:
    query = select(Broadcast).where(Broadcast.created_by == admin, Broadcast.idempotency_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def create(
    session: AsyncSession,
    admin: str,
    key: str | None,
    request: dict[str, Any],
    accounts: Sequence[Mt5Account],
) -> Broadcast:
    broadcast = Broadcast(created_by=admin, idempotency_key=key, request=request)
    session.add(broadcast)
    await session.flush()
    for account in accounts:
        session.add(
            BroadcastTarget(
                broadcast_id=broadcast.id, account_id=account.id, user_id=account.user_id
            )
        )
    await session.flush()
    return broadcast


async def targets(session: AsyncSession, broadcast_id: str) -> list[BroadcastTarget]:
    query = (
        select(BroadcastTarget)
        .where(BroadcastTarget.broadcast_id == broadcast_id)
        .order_by(BroadcastTarget.account_id)
    )
    return list((await session.execute(query)).scalars())


async def record(session: AsyncSession, target_id: str, **outcome: Any) -> None:
    row = await session.get(BroadcastTarget, target_id)
    if row is not None:
        for name, value in outcome.items():
            setattr(row, name, value)


async def set_tags(session: AsyncSession, account_id: str, tags: Sequence[str]) -> list[str]:
    await session.execute(delete(AccountTag).where(AccountTag.account_id == account_id))
    unique = sorted(set(tags))
    session.add_all(AccountTag(account_id=account_id, tag=t) for t in unique)
    await session.flush()
    return unique


async def tags_of(session: AsyncSession, account_id: str) -> list[str]:
    query = (
        select(AccountTag.tag).where(AccountTag.account_id == account_id).order_by(AccountTag.tag)
    )
    return list((await session.execute(query)).scalars())
