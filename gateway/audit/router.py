"""GET /api/v1/audit: your own audit entries, newest first (admins see everyone's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.audit.schemas import AuditItem, AuditPage
from gateway.deps import CurrentUser, SessionDep
from gateway.store import audit
from gateway.validation import AccountId, AuditAction, Ticket

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    before_id: Annotated[
        Ticket | None, Query(description="Page: entries older than this id")
    ] = None,
    account_id: Annotated[AccountId | None, Query(description="Only this account")] = None,
    action: Annotated[
        AuditAction | None, Query(description="Only this action", examples=["trade.open"])
    ] = None,
    all_users: Annotated[bool, Query(description="Admins: everyone's entries")] = True,
) -> AuditPage:
    """Newest first with a keyset cursor (``next_before_id``)."""
    owner = None if user.is_admin and all_users else user.id
    rows = await audit.list_entries(
        session,
        user_id=owner,
        limit=limit,
        before_id=before_id,
        account_id=account_id,
        action=action,
    )
    entries = [
        AuditItem(
            id=row.id,
            at=row.at,
            user_id=row.user_id,
            account_id=row.account_id,
            action=row.action,
            request=row.request,
            outcome=row.outcome,
            retcode=row.retcode,
        )
        for row in rows
    ]
    next_id = entries[-1].id if len(entries) == limit else None
    return AuditPage(entries=entries, next_before_id=next_id)
