"""API key rows: create, find by digest, list and revoke a user's keys (callers own the
transaction, as everywhere in the store)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.keys.models import ApiKey
from gateway.store.models import utcnow


async def add(session: AsyncSession, key: ApiKey) -> ApiKey:
    session.add(key)
    await session.flush()
    return key


async def by_digest(session: AsyncSession, secret_hash: str) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.secret_hash == secret_hash)
    return (await session.scalars(stmt)).one_or_none()


async def list_for_user(session: AsyncSession, user_id: str) -> list[ApiKey]:
    """Newest first."""
    stmt = (
        select(ApiKey)
        .where(ApiKey.user_id == user_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    )
    return list((await session.scalars(stmt)).all())


async def get_for_user(session: AsyncSession, user_id: str, key_id: str) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.id == key_id)
    return (await session.scalars(stmt)).one_or_none()


async def count_usable(session: AsyncSession, user_id: str, now: datetime) -> int:
    """Keys of the user that are neither revoked nor expired."""
    stmt = select(func.count()).where(
        ApiKey.user_id == user_id,
        ApiKey.revoked_at.is_(None),
        (ApiKey.expires_at.is_(None)) | (ApiKey.expires_at > now),
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Revoke once; revoking again keeps the first time."""
    session.add(key)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    await session.flush()
    return key


async def touch(session: AsyncSession, key_id: str, at: datetime, ip: str | None) -> None:
    """Record a use (the caller decides how often)."""
    await session.execute(
        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at, last_used_ip=ip)
    )
