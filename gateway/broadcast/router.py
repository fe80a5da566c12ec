"""Broadcast (copy) orders, admins only: POST/GET /api/v1/broadcasts…, plus the account tags
users set (``PUT/GET /api/v1/accounts/{id}/tags``) that broadcasts can target."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from gateway.accounts.context import DEFAULT_ACCOUNT_ID
from gateway.accounts.opener import OwnAccount
from gateway.auth.admin import AdminUser, require_admin
from gateway.broadcast import service, store
from gateway.broadcast.fanout import Env
from gateway.broadcast.schemas import BroadcastBody, BroadcastOut, ExposureOut, TagsBody, TagsOut
from gateway.deps import SessionDep
from gateway.errors import ValidationFailed
from gateway.trading.deps import IdempotencyKey

router = APIRouter(prefix="/broadcasts", tags=["broadcast"], dependencies=[Depends(require_admin)])
tags_router = APIRouter(prefix="/accounts", tags=["accounts"])

BroadcastId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="Broadcast id")]


async def get_env(request: Request) -> Env:
    state = request.state
    return Env(
        pool=state.pool,
        keyring=state.keyring,
        settings=state.settings,
        sessions=state.sessionmaker,
        background=state.reconciliations,
        clocks=state.clocks,
    )


EnvDep = Annotated[Env, Depends(get_env)]


@router.post("", status_code=202, response_model=BroadcastOut)
async def create(
    body: BroadcastBody, admin: AdminUser, env: EnvDep, key: IdempotencyKey = None
) -> Any:
    """Place one order on many accounts (202: it fans out in the background; poll
    GET /broadcasts/{id}). The same ``Idempotency-Key`` answers the first broadcast (200)."""
    created, broadcast_id = await service.start(env, admin.id, key, body)
    view = await service.get(env, broadcast_id)
    return JSONResponse(view.model_dump(mode="json"), status_code=202 if created else 200)


@router.get("/{broadcast_id}")
async def progress(broadcast_id: BroadcastId, env: EnvDep) -> BroadcastOut:
    """Progress and the outcome per account: filled (ticket, price), refused (code), unknown
    (being reconciled), closed."""
    return await service.get(env, broadcast_id)


@router.post("/{broadcast_id}/close")
async def close(broadcast_id: BroadcastId, env: EnvDep) -> BroadcastOut:
    """Close the positions this broadcast opened (each once, whatever the retries)."""
    return await service.close(env, broadcast_id)


@router.get("/{broadcast_id}/exposure")
async def exposure(broadcast_id: BroadcastId, env: EnvDep) -> ExposureOut:
    """The lots this broadcast holds open across its accounts, per symbol."""
    return await service.exposure(env, broadcast_id)


@tags_router.put("/{account_id}/tags")
async def set_tags(own: OwnAccount, body: TagsBody, session: SessionDep) -> TagsOut:
    """Replace the account's tags (what broadcasts target with ``targets.tag``)."""
    if own == DEFAULT_ACCOUNT_ID:
        raise ValidationFailed("the configured single-tenant account takes no tags")
    return TagsOut(account_id=own, tags=await store.set_tags(session, own, body.tags))


@tags_router.get("/{account_id}/tags")
async def get_tags(own: OwnAccount, session: SessionDep) -> TagsOut:
    """The account's tags."""
    return TagsOut(account_id=own, tags=await store.tags_of(session, own))
