"""Who made a change: this gateway, another client of the account, or the broker.

The trading desk starts the MT5 comment of every order it sends with a short client id
(``gw`` + 10 characters, ``gateway.store.trades``); MT5 copies an order's comment onto its
deals and positions, so a comment that starts with one names the gateway request behind it.
Otherwise the MT5 ``reason`` tells: SL, TP and stop-out are the trade server's doing, the others
(client, mobile, web, expert) another client of the same account. SL/TP changes and order
modifications or cancellations leave no comment behind: they are matched with the gateway's
recent trade requests for that ticket (:func:`match_request`), else put down to another client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import mt5enums as e
from gateway.events.schema import Cause, EventDraft, broker_cause, client_cause, gateway_cause
from gateway.store.models import TradeRequest, TradeState, utcnow
from gateway.store.trades import CLIENT_ID_PREFIX

CLIENT_ID = re.compile(rf"^{CLIENT_ID_PREFIX}[0-9a-hjkmnp-tv-z]{{10}}")
BROKER_REASONS = {"sl": "sl", "tp": "tp", "so": "stop_out", "rollover": "rollover"}
BROKER_REASONS |= {"vmargin": "variation_margin", "split": "split"}
TRADE_DEAL_TYPES = (0, 1)  # buy, sell; the others are balance operations, commissions, ...
SLTP, MODIFY, REMOVE = 6, 7, 8  # TRADE_ACTION_* of requests that leave no comment
RECENT = timedelta(minutes=10)


def client_id_of(comment: str) -> str | None:
    match = CLIENT_ID.match(comment or "")
    return match.group(0) if match else None


def by_reason(reason: str) -> Cause:
    """The cause an MT5 reason name implies, without a client id."""
    if reason in BROKER_REASONS:
        return broker_cause(BROKER_REASONS[reason])
    return client_cause(reason)


def of_deal(deal: dict[str, Any]) -> tuple[Cause | None, str | None]:
    """(cause, our client id to resolve) of a deal."""
    if int(deal["type"]) not in TRADE_DEAL_TYPES:
        return broker_cause(e.name(e.DEAL_TYPES, deal["type"])), None
    reason = e.name(e.DEAL_REASONS, deal["reason"])
    if reason in BROKER_REASONS:
        return by_reason(reason), None
    client_id = client_id_of(str(deal.get("comment", "")))
    return (None, client_id) if client_id else (by_reason(reason), None)


def of_record(row: dict[str, Any]) -> tuple[Cause | None, str | None]:
    """(cause, our client id to resolve) of an order or position (``ORDER_REASONS`` codes)."""
    reason = e.name(e.ORDER_REASONS, row["reason"])
    if reason in BROKER_REASONS:
        return by_reason(reason), None
    client_id = client_id_of(str(row.get("comment", "")))
    return (None, client_id) if client_id else (by_reason(reason), None)


async def resolve(session: AsyncSession, account_id: str, drafts: Sequence[EventDraft]) -> None:
    """Fill in the causes the differ could not decide alone (one or two queries)."""
    client_ids = {d.client_id for d in drafts if d.client_id}
    found: dict[str, str] = {}
    if client_ids:
        stmt = select(TradeRequest.client_id, TradeRequest.request_id).where(
            TradeRequest.client_id.in_(client_ids)
        )
        found = {c: r for c, r in (await session.execute(stmt)).all()}
    recent: list[TradeRequest] | None = None
    for draft in drafts:
        if draft.client_id:
            request_id = found.get(draft.client_id)
            if request_id is None:
                draft.cause = draft.cause or client_cause("expert")
            elif draft.cause is not None and draft.cause.get("by") == "broker":
                draft.cause = broker_cause(draft.cause["reason"], request_id)
            else:
                draft.cause = gateway_cause(request_id)
        elif draft.match is not None and draft.cause is None:
            if recent is None:
                recent = await _recent_requests(session, account_id)
            request_id = match_request(recent, *draft.match)
            draft.cause = gateway_cause(request_id) if request_id else {"by": "client"}


async def _recent_requests(session: AsyncSession, account_id: str) -> list[TradeRequest]:
    stmt = (
        select(TradeRequest)
        .where(
            TradeRequest.account_id == account_id,
            TradeRequest.created_at >= utcnow() - RECENT,
            TradeRequest.state.in_([TradeState.DONE, TradeState.UNKNOWN, TradeState.PENDING]),
        )
        .order_by(TradeRequest.created_at.desc())
        .limit(100)
    )
    return list((await session.scalars(stmt)).all())


def match_request(requests: Iterable[TradeRequest], kind: str, ticket: int) -> str | None:
    """The newest request that changed SL/TP of position ``ticket`` (``kind`` "position") or
    modified/removed order ``ticket`` (``kind`` "order")."""
    for row in requests:
        request = row.request or {}
        action = request.get("action")
        if kind == "position" and action == SLTP and request.get("position") == ticket:
            return row.request_id
        if kind == "order" and action in (MODIFY, REMOVE) and request.get("order") == ticket:
            return row.request_id
    return None
