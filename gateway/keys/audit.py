"""Every action taken with an API key is audited with the key's id.

- ``KeyAuditMiddleware`` gives each HTTP request a :class:`KeyUse` holder; ``get_current_user``
  fills it when the caller used a key (:func:`used_key`).
- While such a request runs, every audit entry written (trades, login failures, anything that
  calls ``gateway.store.audit.append``) gets ``request.by_key = {"id", "prefix"}``, added by a
  SQLAlchemy ``before_insert`` hook on ``AuditEntry``.
- A state-changing request (not GET/HEAD/OPTIONS) made with a key that wrote no audit entry of
  its own gets one when it ends: ``api_key.call`` with the method, route template and status.

The holder lives in a context variable, so background work started outside a request is never
attributed to a key.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth.schemas import User
from gateway.db import session_scope
from gateway.keys.scopes import SAFE_METHODS
from gateway.logs import route_template
from gateway.store import audit
from gateway.store.models import AuditEntry

log = logging.getLogger("gateway.keys")

CALL_ACTION = "api_key.call"


@dataclass
class KeyUse:
    key_id: str | None = None
    prefix: str | None = None
    user_id: str | None = None
    account_id: str | None = None
    ip: str | None = None
    audited: bool = False

    def marker(self) -> dict[str, Any]:
        return {"id": self.key_id, "prefix": self.prefix}


_current: ContextVar[KeyUse | None] = ContextVar("mt5gw_key_use", default=None)


def used_key(user: User, ip: str | None) -> None:
    """The current request authenticated with ``user``'s API key."""
    holder = _current.get()
    if holder is None or user.api_key_id is None:
        return
    holder.key_id, holder.prefix = user.api_key_id, user.api_key_prefix
    holder.user_id, holder.account_id, holder.ip = user.id, user.account_id, ip


def _tag(_mapper: Any, _connection: Any, entry: AuditEntry) -> None:
    holder = _current.get()
    if holder is None or holder.key_id is None:
        return
    entry.request = {**(entry.request or {}), "by_key": holder.marker()}
    holder.audited = True


def install_audit_hook() -> None:
    """Tag audit entries written during key requests (once per process)."""
    if not event.contains(AuditEntry, "before_insert", _tag):
        event.listen(AuditEntry, "before_insert", _tag)


class KeyAuditMiddleware:
    """Plain ASGI: the per-request holder, and ``api_key.call`` for unaudited key actions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder = KeyUse()
        token = _current.set(holder)
        status = 500

        async def keep_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, keep_status)
        finally:
            _current.reset(token)
            if holder.key_id and not holder.audited and scope["method"] not in SAFE_METHODS:
                await _record_call(scope, holder, status)


async def _record_call(scope: Scope, holder: KeyUse, status: int) -> None:
    state = scope.get("state") or {}
    sessions: async_sessionmaker[AsyncSession] | None = state.get("sessionmaker")
    if sessions is None or holder.user_id is None:
        return
    try:
        async with session_scope(sessions) as session:
            await audit.append(
                session,
                user_id=holder.user_id,
                action=CALL_ACTION,
                account_id=holder.account_id,
                request={
                    "method": scope["method"],
                    "route": route_template(scope),
                    "by_key": holder.marker(),
                },
                outcome={"status": status},
                ip=holder.ip,
            )
    except SQLAlchemyError as exc:
        log.error("could not audit an API key call: %s", type(exc).__name__)
