"""Trade requests a previous run of the gateway sent but never heard the outcome of.

A restart (or a crash) between sending an order and settling its answer leaves its ledger row
``pending`` or ``unknown``, and its idempotency key in progress. At start the gateway takes
those rows up again the way it settles a lost answer: the orders, deals and positions a request
creates carry the row's client id at the start of their comment, so a background look-up finds
the request or, after repeated look-ups, proves it absent (``gateway.trading.ledger.Ledger``).

Requests that create nothing (SL/TP change, order modify or cancel) leave no comment to find.
Sending one of them twice is harmless (the second answers "no changes" or "invalid order"), so
their key is released for the client to retry and their row stays ``unknown`` for the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.schemas import User
from gateway.db import session_scope
from gateway.mt5enums import ORDER_TYPES
from gateway.store import idempotency, trades
from gateway.store.models import TradeRequest
from gateway.trading.ledger import Ledger, Reconciliations, Reopen, RowRef
from gateway.trading.prepare import Prepared
from gateway.trading.reconcile import ByClientId

log = logging.getLogger("gateway.trading")

CREATING_ACTIONS = frozenset({1, 5, 10})  # TRADE_ACTION_DEAL, _PENDING, _CLOSE_BY
MAX_RESUMED = 1000

ReopenFor = Callable[[User, str], Reopen]


async def resume_unresolved(
    sessions: async_sessionmaker[AsyncSession],
    reopen_for: ReopenFor,
    background: Reconciliations,
) -> int:
    """Take up every unsettled request of earlier runs; returns how many.

    Call it before the gateway serves requests: every unsettled row then belongs to an earlier
    run. The look-ups themselves run in the background."""
    async with session_scope(sessions) as session:
        rows = await trades.list_unresolved(session, limit=MAX_RESUMED)
        for row in rows:
            if row.request.get("action") not in CREATING_ACTIONS:
                await _release_key(session, row)
    for row in rows:
        if row.request.get("action") in CREATING_ACTIONS:
            _look_again(row, sessions, reopen_for, background)
    if rows:
        log.warning("resuming %d trade request(s) left unsettled by an earlier run", len(rows))
    return len(rows)


def _look_again(
    row: TradeRequest,
    sessions: async_sessionmaker[AsyncSession],
    reopen_for: ReopenFor,
    background: Reconciliations,
) -> None:
    request = dict(row.request)
    # The look-up window (two days either side) covers any broker offset from UTC.
    created_s = int(row.created_at.timestamp())
    prepared = Prepared(
        action="trade.resumed",
        request=request,
        symbol=str(request.get("symbol", "")),
        kind=ORDER_TYPES.get(int(request.get("type", 0)), "unknown"),
        server_now_s=created_s,
    )
    ledger = Ledger(
        account_id=row.account_id,
        user_id=row.user_id,
        sessions=sessions,
        reopen=reopen_for(User(id=row.user_id), row.account_id),
        background=background,
    )
    probe = ByClientId(row.client_id, prepared.symbol, created_s)
    ledger.finish_later(prepared, RowRef(row.request_id, row.client_id), probe, row.idempotency_key)


async def _release_key(session: AsyncSession, row: TradeRequest) -> None:
    if row.idempotency_key is not None:
        await idempotency.release_key(session, user_id=row.user_id, key=row.idempotency_key)
