"""Trade requests: every order the gateway sends, kept until its outcome is known.

Each request gets a short ``client_id`` that the trading service writes into the MT5
``comment`` (MT5 keeps 29 characters of it). After a timeout or a dropped connection the
outcome is unknown; the row stays ``UNKNOWN`` until reconciliation finds the client id in
the terminal's orders, positions or history (``DONE``) or proves it absent (``FAILED``).
Users read their own requests only (``get_for_user`` returns ``None`` otherwise).

The trading desk writes with the ``*_row`` functions inside ``gateway.store.transact``
transactions (statements compiled once, no ORM unit of work); the session functions serve
everything else.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.models import TradeRequest, TradeState, new_id, utcnow
from gateway.store.transact import Statement, Tx
from gateway.validation import storable

CLIENT_ID_PREFIX = "gw"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_client_id() -> str:
    """12 characters (``gw`` + 50 random bits), leaving 17 for the caller's own comment."""
    bits = int.from_bytes(secrets.token_bytes(7), "big") >> 6  # 56 random bits, 50 kept
    return CLIENT_ID_PREFIX + "".join(_ALPHABET[(bits >> shift) & 31] for shift in _SHIFTS)


_SHIFTS = tuple(range(45, -1, -5))  # ten 5-bit digits


async def create(
    session: AsyncSession,
    *,
    user_id: str,
    account_id: str,
    request: dict[str, Any],
    idempotency_key: str | None = None,
    client_id: str | None = None,
) -> TradeRequest:
    """Record a request about to be sent (state ``PENDING``); commit it before the send."""
    trade = TradeRequest(
        request_id=new_id(),
        user_id=user_id,
        account_id=account_id,
        client_id=client_id or new_client_id(),
        idempotency_key=idempotency_key,
        request=storable(request),
        state=TradeState.PENDING,
    )
    session.add(trade)
    await session.flush()
    return trade


_INSERT = Statement(
    lambda _: insert(TradeRequest).values(
        request_id=bindparam("p_request_id"),
        user_id=bindparam("p_user_id"),
        account_id=bindparam("p_account_id"),
        client_id=bindparam("p_client_id"),
        idempotency_key=bindparam("p_key"),
        request=bindparam("p_request"),
        state=bindparam("p_state"),
        created_at=bindparam("p_now"),
        updated_at=bindparam("p_now"),
    )
)
_SETTLE = Statement(
    lambda _: (
        update(TradeRequest)
        .where(TradeRequest.request_id == bindparam("p_request_id"))
        .values(
            state=bindparam("p_state"), result=bindparam("p_result"), updated_at=bindparam("p_now")
        )
    )
)
_SET_STATE = Statement(
    lambda _: (
        update(TradeRequest)
        .where(TradeRequest.request_id == bindparam("p_request_id"))
        .values(state=bindparam("p_state"), updated_at=bindparam("p_now"))
    )
)
_OF_KEY = Statement(
    lambda _: select(TradeRequest.request_id).where(
        TradeRequest.user_id == bindparam("p_user_id"),
        TradeRequest.idempotency_key == bindparam("p_key"),
    )
)


def insert_row(
    tx: Tx,
    *,
    request_id: str,
    user_id: str,
    account_id: str,
    client_id: str,
    request: dict[str, Any],
    idempotency_key: str | None = None,
) -> None:
    """:func:`create` in a ledger transaction (commit it before the send)."""
    tx.run(
        _INSERT,
        {
            "p_request_id": request_id,
            "p_user_id": user_id,
            "p_account_id": account_id,
            "p_client_id": client_id,
            "p_key": idempotency_key,
            "p_request": storable(request),
            "p_state": TradeState.PENDING,
            "p_now": utcnow(),
        },
    )


def settle_row(tx: Tx, request_id: str, state: TradeState, result: dict[str, Any] | None) -> None:
    """:func:`settle` in a ledger transaction."""
    values = {"p_request_id": request_id, "p_state": state, "p_now": utcnow()}
    if result is None:
        tx.run(_SET_STATE, values)
    else:
        tx.run(_SETTLE, {**values, "p_result": storable(result)})


def ids_of_key(tx: Tx, user_id: str, key: str) -> list[str]:
    """The request ids a user's idempotency key has sent."""
    return [row[0] for row in tx.run(_OF_KEY, {"p_user_id": user_id, "p_key": key})]


async def get_for_user(session: AsyncSession, user_id: str, request_id: str) -> TradeRequest | None:
    stmt = select(TradeRequest).where(
        TradeRequest.user_id == user_id, TradeRequest.request_id == request_id
    )
    return (await session.scalars(stmt)).one_or_none()


async def find_by_client_id(session: AsyncSession, client_id: str) -> TradeRequest | None:
    stmt = select(TradeRequest).where(TradeRequest.client_id == client_id)
    return (await session.scalars(stmt)).one_or_none()


async def set_state(
    session: AsyncSession,
    trade: TradeRequest,
    state: TradeState,
    result: dict[str, Any] | None = None,
) -> None:
    session.add(trade)  # a request loaded by an earlier session is attached again
    trade.state = state
    if result is not None:
        trade.result = storable(result)
    await session.flush()


async def settle(
    session: AsyncSession, request_id: str, state: TradeState, result: dict[str, Any] | None
) -> None:
    """Set a request's state and result by id: one UPDATE, nothing read first."""
    stmt = _settle_stmt(request_id, state, result)
    await session.execute(stmt.execution_options(synchronize_session=False))


def _settle_stmt(request_id: str, state: TradeState, result: dict[str, Any] | None) -> Any:
    values: dict[str, Any] = {"state": state}
    if result is not None:
        values["result"] = storable(result)
    return update(TradeRequest).where(TradeRequest.request_id == request_id).values(**values)


async def list_unresolved(session: AsyncSession, *, limit: int = 100) -> list[TradeRequest]:
    """Requests whose outcome is not known yet (``PENDING`` or ``UNKNOWN``), oldest first."""
    stmt = (
        select(TradeRequest)
        .where(TradeRequest.state.in_([TradeState.PENDING, TradeState.UNKNOWN]))
        .order_by(TradeRequest.created_at, TradeRequest.request_id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
