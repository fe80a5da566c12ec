"""HTTP and WebSocket routes of the stream: ``/stream`` (WebSocket) and ``GET /events``.

``stream_router`` must be included *without* the bearer dependency of the REST routers (a
WebSocket authenticates inside the protocol); ``events_router`` is a REST router like the others.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from pydantic import BaseModel, Field

from gateway.accounts.context import AccountIdQuery, resolve_account
from gateway.deps import CurrentUser, KeyringDep, SessionDep, SettingsDep
from gateway.events import store
from gateway.events.schema import EVENT_CHANNELS
from gateway.stream.connection import Connection, handshake_refusal
from gateway.stream.hub import Hub

stream_router = APIRouter()
events_router = APIRouter(tags=["events"])


@stream_router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    """The live stream (protocol in docs/stream.md)."""
    hub: Hub = ws.state.stream_hub
    if handshake_refusal(ws, ws.state.settings) is not None:
        await ws.close(1008)  # before accept: the handshake is answered 403
        return
    await ws.accept()
    await Connection(ws, hub).serve()


class EventOut(BaseModel):
    type: str = Field(description='Always "event"')
    channel: str = Field(description="positions | orders | deals")
    event: str = Field(description="position.opened, order.filled, deal.added, ...")
    account_id: str
    seq: int = Field(description="Per-account sequence number, +1 per event")
    id: str
    time: str = Field(description="When it happened, ISO-8601 UTC")
    reconciled: bool = Field(description="Reconstructed after the account was away")
    cause: dict[str, Any] | None = Field(
        description='{"by": "gateway", "request_id"} | {"by": "client", "reason"} | '
        '{"by": "broker", "reason"} | null when unknown'
    )
    data: dict[str, Any]


class EventsPage(BaseModel):
    account_id: str
    seq: int = Field(description="The account's current seq")
    resync: bool = Field(
        description="Events after `after` are no longer stored: read the current state "
        "(/positions, /orders) and continue from `seq`"
    )
    events: list[EventOut]
    next_after: int = Field(description="Pass as `after` for the next page")
    has_more: bool


@events_router.get("/events", response_model=EventsPage, summary="Account events after a seq")
async def list_events(
    user: CurrentUser,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    account_id: AccountIdQuery = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="Return events after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    channel: Annotated[
        str | None, Query(pattern="^(positions|orders|deals)$", description="Only this channel")
    ] = None,
) -> EventsPage:
    """The same events as the stream, for clients that cannot hold a socket: page with
    ``after=next_after`` while ``has_more``."""
    resolved = await resolve_account(session, keyring, settings, user, account_id)
    ident = resolved.ref.id
    ok, current = await store.replayable(session, ident, after)
    if not ok:
        return EventsPage(
            account_id=ident,
            seq=current,
            resync=True,
            events=[],
            next_after=current,
            has_more=False,
        )
    rows = await store.events_after(session, ident, after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = rows[-1].seq if rows else after
    channels = [channel] if channel else list(EVENT_CHANNELS)
    events = [EventOut(**e.message()) for e in rows if e.channel in channels]
    return EventsPage(
        account_id=ident,
        seq=current,
        resync=False,
        events=events,
        next_after=next_after,
        has_more=more,
    )
