"""Audit log: an append-only record of every state-changing call.

Who (user), on which account, what was asked, what MT5 answered (outcome and retcode), from
where (ip) and when. Secrets never get in: :func:`append` passes ``request`` and ``outcome``
through :func:`strip_secrets`, which masks any field whose name looks secret, at any depth,
and :func:`gateway.validation.storable` (no NUL or non-finite number reaches the JSON column).
Listing is newest first with a keyset cursor (``before_id``), stable while rows are added.

The trading desk writes its entries inside its ledger transactions (``gateway.store.transact``):
:func:`entry_values` (on the event loop, where the request's context is), then
:func:`insert_row` (anywhere).
``entry_values`` runs the model's ``before_insert`` listeners first, so whatever they add to
an entry (``gateway.keys.audit`` tags the API key in use) is in these rows as well.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Insert, bindparam, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.models import AuditEntry, utcnow
from gateway.store.transact import Statement, Tx
from gateway.validation import storable

MASK = "***"
_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "private_key",
    "credential",
)
MAX_PAGE = 500


def strip_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking field replaced by ``***``."""
    if isinstance(value, dict):
        return {k: MASK if _is_secret(str(k)) else strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_secrets(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)  # a few hundred field names ever: ours, and validated bodies'
def _is_secret(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(word in lowered for word in _SECRET_WORDS)


async def append(
    session: AsyncSession,
    *,
    user_id: str,
    action: str,
    account_id: str | None = None,
    request: dict[str, Any] | None = None,
    outcome: dict[str, Any] | None = None,
    retcode: int | None = None,
    ip: str | None = None,
) -> AuditEntry:
    entry = _entry(user_id, action, account_id, request, outcome, retcode, ip)
    session.add(entry)
    await session.flush()
    return entry


def entry_values(
    *,
    user_id: str,
    action: str,
    account_id: str | None = None,
    request: dict[str, Any] | None = None,
    outcome: dict[str, Any] | None = None,
    retcode: int | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """The column values :func:`append` would insert, for :func:`insert_row`."""
    entry = _entry(user_id, action, account_id, request, outcome, retcode, ip)
    mapper = inspect(AuditEntry)
    mapper.dispatch.before_insert(mapper, None, inspect(entry))  # listeners get the state
    return {
        "p_at": utcnow(),
        "p_user_id": entry.user_id,
        "p_action": entry.action,
        "p_account_id": entry.account_id,
        "p_request": entry.request,
        "p_outcome": entry.outcome,
        "p_retcode": entry.retcode,
        "p_ip": entry.ip,
    }


def _entry(
    user_id: str,
    action: str,
    account_id: str | None,
    request: dict[str, Any] | None,
    outcome: dict[str, Any] | None,
    retcode: int | None,
    ip: str | None,
) -> AuditEntry:
    """The entry with its request and outcome stripped of secrets and made storable."""
    return AuditEntry(
        user_id=user_id,
        action=action,
        account_id=account_id,
        request=storable(strip_secrets(request)),
        outcome=storable(strip_secrets(outcome)),
        retcode=retcode,
        ip=ip,
    )


def insert_stmt() -> Insert:
    """The INSERT of :func:`entry_values` (``p_*`` parameters), alone or as part of a larger
    statement (``gateway/store/trades.py``)."""
    return insert(AuditEntry).values(
        at=bindparam("p_at"),
        user_id=bindparam("p_user_id"),
        action=bindparam("p_action"),
        account_id=bindparam("p_account_id"),
        request=bindparam("p_request"),
        outcome=bindparam("p_outcome"),
        retcode=bindparam("p_retcode"),
        ip=bindparam("p_ip"),
    )


_INSERT = Statement(lambda _: insert_stmt())


def insert_row(tx: Tx, values: dict[str, Any]) -> None:
    """One INSERT of :func:`entry_values` in a ledger transaction."""
    tx.run(_INSERT, values)


async def list_entries(
    session: AsyncSession,
    *,
    user_id: str | None,
    limit: int = 100,
    before_id: int | None = None,
    account_id: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """Newest first. ``user_id=None`` lists everyone's (admins only: the caller decides)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    if account_id is not None:
        stmt = stmt.where(AuditEntry.account_id == account_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return list((await session.scalars(stmt)).all())
