"""Trade requests: every order the gateway sends, kept until its outcome is known.

Each request gets a short ``client_id`` that the trading service writes into the MT5
``comment`` (MT5 keeps 29 characters of it). After a timeout or a dropped connection the
outcome is unknown; the row stays ``UNKNOWN`` until reconciliation finds the client id in
the terminal's orders, positions or history (``DONE``) or proves it absent (``FAILED``).
Users read their own requests only (``get_for_user`` returns ``None`` otherwise).

The trading desk writes with the ``*_row`` functions inside ``gateway.store.transact``
transactions (statements compiled once, no ORM unit of work); the session functions serve
everything else. On PostgreSQL the desk's two transactions are one statement each (a
data-modifying ``WITH``, run in autocommit): claim the key and insert the row
(:func:`insert_claiming`), then settle the row, complete the key and append the audit entry
(:func:`settle_with_audit`): two round trips per trade instead of ten or so.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import String, Update, bindparam, exists, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store import audit, idempotency
from gateway.store.models import (
    IdempotencyKey,
    IdempotencyStatus,
    TradeRequest,
    TradeState,
    new_id,
    utcnow,
)
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


def _final_state_stmt(prefix: str) -> Update:
    """A request row's final state and result (``{prefix}request_id``, ``{prefix}state``,
    ``{prefix}result``; ``p_now``)."""
    return (
        update(TradeRequest)
        .where(TradeRequest.request_id == bindparam(f"{prefix}request_id"))
        .values(
            state=bindparam(f"{prefix}state"),
            result=bindparam(f"{prefix}result"),
            updated_at=bindparam("p_now"),
        )
    )


_SETTLE = Statement(lambda _: _final_state_stmt("p_"))
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
    insert_claiming(
        tx,
        request_id=request_id,
        user_id=user_id,
        account_id=account_id,
        client_id=client_id,
        request=request,
        idempotency_key=idempotency_key,
        claim_hash=None,
    )


def settle_row(tx: Tx, request_id: str, state: TradeState, result: dict[str, Any] | None) -> None:
    """:func:`settle` in a ledger transaction."""
    values = {"p_request_id": request_id, "p_state": state, "p_now": utcnow()}
    if result is None:
        tx.run(_SET_STATE, values)
    else:
        tx.run(_SETTLE, {**values, "p_result": storable(result)})


def insert_claiming(
    tx: Tx,
    *,
    request_id: str,
    user_id: str,
    account_id: str,
    client_id: str,
    request: dict[str, Any],
    idempotency_key: str | None,
    claim_hash: str | None,
) -> bool:
    """:func:`insert_row`, claiming ``idempotency_key`` in the same transaction when
    ``claim_hash`` is given; ``False`` when the key is held (nothing written: read the holder
    with ``idempotency.held_row``). One statement on PostgreSQL."""
    now = utcnow()
    values = {
        "p_request_id": request_id,
        "p_user_id": user_id,
        "p_account_id": account_id,
        "p_client_id": client_id,
        "p_key": idempotency_key,
        "p_request": storable(request),
        "p_state": TradeState.PENDING,
        "p_now": now,
    }
    if claim_hash is None or idempotency_key is None:
        tx.run(_INSERT, values)
        return True
    if tx.combines:
        claim = {"k_hash": claim_hash, "k_expires": now + idempotency.DEFAULT_TTL}
        claim["k_state"] = TradeState.PENDING.value
        return bool(tx.run(_INSERT_CLAIMING, {**values, **claim}))
    holder = idempotency.claim_row(
        tx, user_id=user_id, key=idempotency_key, request_hash=claim_hash, now=now
    )
    if holder is not None:
        return False
    tx.run(_INSERT, values)
    return True


def settle_with_audit(
    tx: Tx,
    settled: list[tuple[str, TradeState, dict[str, Any] | None]],
    completion: tuple[str, str, int, Any] | None,
    entry: dict[str, Any],
) -> None:
    """Settle request rows, complete a key this call holds (``(user, key, status, body)``) and
    append the audit entry (``audit.entry_values``). One statement on PostgreSQL for at most
    one row with a result."""
    if tx.combines and len(settled) <= 1 and all(r is not None for _, _, r in settled):
        values: dict[str, Any] = {**entry, "p_now": utcnow()}
        if settled:
            request_id, state, result = settled[0]
            values |= {"s_request_id": request_id, "s_state": state, "s_result": storable(result)}
        if completion is not None:
            user_id, key, status, body = completion
            values |= {"c_user_id": user_id, "c_key": key, "c_status_code": status}
            values["c_body"] = storable(body)
        tx.run(_combined_settle(bool(settled), completion is not None), values)
        return
    for request_id, state, result in settled:
        settle_row(tx, request_id, state, result)
    if completion is not None:
        user_id, key, status, body = completion
        idempotency.complete_row(tx, user_id=user_id, key=key, status_code=status, body=body)
    audit.insert_row(tx, entry)


def _claiming_stmt(_: str) -> Any:
    """PostgreSQL: claim the key; insert the row only if the claim took; RETURNING the claim."""
    claim = (
        postgresql.insert(IdempotencyKey)
        .values(
            user_id=bindparam("p_user_id"),
            key=bindparam("p_key"),
            request_hash=bindparam("k_hash"),
            status=IdempotencyStatus.IN_PROGRESS,
            created_at=bindparam("p_now"),
            expires_at=bindparam("k_expires"),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
        .cte("claim")
    )
    t = TradeRequest.__table__.c
    names = ["request_id", "user_id", "account_id", "client_id", "idempotency_key", "request"]
    names += ["state", "created_at", "updated_at"]
    params = ["p_request_id", "p_user_id", "p_account_id", "p_client_id", "p_key", "p_request"]
    params += ["k_state", "p_now", "p_now"]
    types = {"state": String(16)}  # a plain string: the SELECT list needs a cast of its own
    source = select(
        *(bindparam(p, type_=types.get(n, t[n].type)) for n, p in zip(names, params, strict=True))
    ).where(exists(select(claim.c.id)))
    row = insert(TradeRequest).from_select(names, source).returning(TradeRequest.request_id)
    return select(claim.c.id).add_cte(row.cte("row"))


_INSERT_CLAIMING = Statement(_claiming_stmt)
_SETTLES: dict[tuple[bool, bool], Statement] = {}


def _combined_settle(row: bool, key: bool) -> Statement:
    found = _SETTLES.get((row, key))
    if found is None:
        found = _SETTLES[(row, key)] = Statement(lambda _: _combined_settle_stmt(row, key))
    return found


def _combined_settle_stmt(row: bool, key: bool) -> Any:
    """PostgreSQL: the audit INSERT, with the row's UPDATE and the key's completion as
    data-modifying WITH parts (each runs once, in the same statement)."""
    stmt = audit.insert_stmt()
    if row:
        settled = _final_state_stmt("s_").returning(TradeRequest.request_id)
        stmt = stmt.add_cte(settled.cte("settled"))
    if key:
        completed = idempotency.completion_stmt("c_").returning(IdempotencyKey.id)
        stmt = stmt.add_cte(completed.cte("completed"))
    return stmt


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
