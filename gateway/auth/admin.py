"""/api/v1/admin/…: operator endpoints, for admins only (403 ``FORBIDDEN`` for anyone else).

An admin is a user whose token carries ``app_metadata.role == "admin"`` or whose id is in
``ADMIN_USER_IDS`` (see ``gateway.auth.schemas.User``). Here: the login throttle's lockouts
(list, clear). The pool's full detail is ``GET /api/v1/admin/pool`` (``gateway.health``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.auth.schemas import ThrottleCleared, ThrottleEntry, ThrottleList, User
from gateway.auth.throttle import LoginThrottle, get_throttle
from gateway.db import session_scope
from gateway.deps import CurrentUser
from gateway.errors import Forbidden
from gateway.store import throttle as store
from gateway.store.throttle import seconds_until


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("Admins only")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/login-throttle")
async def list_lockouts(
    throttle: ThrottleDep,
    locked_only: Annotated[bool, Query(description="Only keys locked right now")] = False,
) -> ThrottleList:
    """Counted failed credential attempts by caller and target, most recent first."""
    now = datetime.now(UTC)
    async with session_scope(throttle.sessionmaker) as session:
        rows = await store.listing(session, locked_at=now if locked_only else None)
    return ThrottleList(
        entries=[
            ThrottleEntry(
                key=r.key,
                failures=r.failures,
                last_attempt_at=r.last_attempt_at,
                locked_until=r.locked_until,
                retry_after_s=seconds_until(r.locked_until, now)
                if r.locked_until is not None and r.locked_until > now
                else None,
            )
            for r in rows
        ]
    )


@router.delete("/login-throttle")
async def clear_lockouts(
    throttle: ThrottleDep,
    key: Annotated[
        str | None,
        Query(max_length=320, pattern=r"^[^\x00-\x1f\x7f]+$", description="One key; omit for all"),
    ] = None,
) -> ThrottleCleared:
    """Forget a key's failures and lock (or every key's)."""
    async with session_scope(throttle.sessionmaker) as session:
        return ThrottleCleared(cleared=await store.clear(session, key))
