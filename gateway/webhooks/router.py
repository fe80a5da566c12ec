"""``/api/v1/webhooks``: a user's endpoints, their delivery log, and replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts.context import ACCOUNT_ID_PATTERN, resolve_account
from gateway.deps import CurrentUser, KeyringDep, SessionDep, SettingsDep
from gateway.errors import ErrorResponse, GatewayError, NotFound, ValidationFailed
from gateway.events import store
from gateway.store import accounts
from gateway.store.models import utcnow
from gateway.webhooks import outbox, signing, targets
from gateway.webhooks.delivery import Deliveries, secret_aad
from gateway.webhooks.models import WebhookDelivery, WebhookEndpoint
from gateway.webhooks.schemas import (
    DeliveriesPage,
    ReplayResult,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhooksPage,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="Webhook endpoint id")]
REPLAY_MAX = 10_000


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


class TargetRefusedError(ValidationFailed):
    code = "WEBHOOK_TARGET_REFUSED"


class EventsNotRetained(GatewayError):
    status, code = 409, "EVENTS_NOT_RETAINED"


def _deliveries(request: Request) -> Deliveries:
    deliveries: Deliveries = request.state.webhook_deliveries
    return deliveries


def _out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "account_id": endpoint.account_id,
        "event_types": list(endpoint.event_types or []),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "created_at": endpoint.created_at,
    }


async def _own(session: AsyncSession, user_id: str, webhook_id: str) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.user_id != user_id:
        raise WebhookNotFound("Webhook not found")
    return endpoint


@router.post("", response_model=WebhookCreated, status_code=201, summary="Add a webhook")
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Events of one of your accounts (or all of them) will be POSTed to ``url``, signed as
    Standard Webhooks describes. The signing secret is in this answer only."""
    deliveries = _deliveries(request)
    limit = deliveries.settings.webhook_max_per_user
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.user_id == user.id)
    )
    if (count or 0) >= limit:
        raise ValidationFailed(f"at most {limit} webhooks per user", code="WEBHOOK_LIMIT")
    if body.account_id is not None:
        await resolve_account(session, keyring, settings, user, body.account_id)
    try:
        await targets.check(
            body.url,
            allow_private=deliveries.settings.webhook_allow_private_targets,
            https_only=settings.is_production,
        )
    except targets.TargetRefused as exc:
        raise TargetRefusedError(f"webhook target refused: {exc}") from None
    endpoint_id = outbox.new_endpoint_id()
    secret = signing.new_secret()
    sealed = keyring.encrypt(secret, secret_aad(endpoint_id))
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        user_id=user.id,
        account_id=body.account_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        secret=sealed.ciphertext,
        key_id=sealed.key_id,
        enabled=True,
    )
    session.add(endpoint)
    await session.flush()
    await session.commit()
    deliveries.endpoints_changed()
    return _out(endpoint) | {"secret": secret}


@router.get("", response_model=WebhooksPage, summary="Your webhooks")
async def list_webhooks(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Your webhook endpoints (their secrets are never shown again)."""
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user.id)
        .order_by(WebhookEndpoint.created_at)
    )
    return {"webhooks": [_out(e) for e in rows.all()]}


@router.get("/{webhook_id}", response_model=WebhookOut, summary="One webhook")
async def get_webhook(
    webhook_id: WebhookId, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    """One of your webhook endpoints, with whether it is enabled and why not."""
    return _out(await _own(session, user.id, webhook_id))


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook")
async def delete_webhook(
    webhook_id: WebhookId, request: Request, user: CurrentUser, session: SessionDep
) -> Response:
    """The endpoint and its delivery log are removed; nothing more is sent to it."""
    endpoint = await _own(session, user.id, webhook_id)
    await session.delete(endpoint)
    await session.flush()
    await session.commit()
    _deliveries(request).endpoints_changed()
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveriesPage, summary="Delivery log")
async def list_deliveries(
    webhook_id: WebhookId,
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
) -> dict[str, list[WebhookDelivery]]:
    """The newest deliveries first: attempts, the last HTTP status or error, when delivered."""
    await _own(session, user.id, webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == webhook_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    stmt = stmt.order_by(WebhookDelivery.id.desc()).limit(limit)
    return {"deliveries": list((await session.scalars(stmt)).all())}


@router.post(
    "/{webhook_id}/replay",
    response_model=ReplayResult,
    summary="Send stored events again",
    responses={409: {"model": ErrorResponse, "description": "Events no longer stored"}},
)
async def replay_webhook(
    webhook_id: WebhookId,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Send the events after this seq")],
    account_id: Annotated[
        str | None,
        Query(pattern=ACCOUNT_ID_PATTERN, description="Required for an all-accounts webhook"),
    ] = None,
) -> dict[str, Any]:
    """Queue the stored events after ``after`` again, in order (and enable the webhook if it
    was disabled). Events older than the retention window cannot be replayed (409)."""
    endpoint = await _own(session, user.id, webhook_id)
    account = endpoint.account_id or account_id
    if account is None:
        raise ValidationFailed("account_id: required for a webhook of all accounts")
    if endpoint.account_id is not None and account_id not in (None, endpoint.account_id):
        raise ValidationFailed("account_id: this webhook follows another account")
    if (
        endpoint.account_id is None
        and await accounts.get_for_user(session, user.id, account) is None
    ):
        raise NotFound("Account not found", code="ACCOUNT_NOT_FOUND")
    ok, _ = await store.replayable(session, account, after)
    if not ok:
        raise EventsNotRetained("events after this seq are no longer stored")
    events = await store.events_after(session, account, after, limit=REPLAY_MAX)
    queued = await outbox.replay(session, endpoint, events)
    if not endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = True, None, None
        endpoint.updated_at = utcnow()
    await session.commit()
    _deliveries(request).endpoints_changed()
    return {"queued": queued, "account_id": account, "after": after}
