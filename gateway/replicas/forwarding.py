"""Forwarding a request to the replica that can serve it, with the caller's identity kept.

:class:`ForwardingMiddleware` (plain ASGI, just inside the request log) buffers the request
body (up to ``MAX_BUFFERED`` bytes; a larger one is served here) and runs the app with a
*forward slot* in a context variable. When the pool's placement decides that another replica
should serve the request (``claim_forward``), the pool raises ``ServedElsewhere`` before the
request queues or touches anything; the middleware drops the answer the app made of it and sends
the buffered request to that replica instead:

- the caller's headers go as they are (``Authorization``, ``X-API-Key``, ``Idempotency-Key``,
  ``Content-Type`` ...), so the owner authenticates the caller itself;
- ``X-Request-ID`` is this request's id, so both access lines share it;
- ``X-MT5GW-Forwarded`` (the sending replica) marks it: a forwarded request is always served
  where it lands, never forwarded again, even if that replica's board is a moment behind;
- ``X-MT5GW-Replica-Secret`` proves it comes from a replica: without the right secret the
  marks are stripped and the request is an ordinary one; ``X-MT5GW-Client`` carries the
  caller's address for the audit trail and is believed only with the secret.

If the owner cannot be reached (connection refused, or a safe method that failed later) the
request is served here after all (the pool switches a terminal of its own). An unsafe one that
failed after it was sent answers 502 ``REPLICA_UNREACHABLE``: it may have been carried out, and
a retry with the same ``Idempotency-Key`` settles which. Every answer says which replica served
it (``X-MT5GW-Replica``).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import current_request_id, note
from gateway.terminal.holding import Remote

log = logging.getLogger("gateway.replicas")

FORWARDED = b"x-mt5gw-forwarded"
SECRET = b"x-mt5gw-replica-secret"
CLIENT = b"x-mt5gw-client"
SERVED_BY = b"x-mt5gw-replica"
REQUEST_ID = b"x-request-id"
OURS = frozenset({FORWARDED, SECRET, CLIENT})
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
# Set by the uvicorn that answers the caller, or by the log middleware here.
NOT_RELAYED = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"date", b"server"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BUFFERED = 1 << 20
STATE_KEY = "replica_forwarder"


@dataclass
class _Slot:
    allowed: bool
    remote: Remote | None = None


_slot: ContextVar[_Slot | None] = ContextVar("mt5gw_forward", default=None)


def forwardable() -> bool:
    """The current request is an HTTP request that may still be forwarded."""
    slot = _slot.get()
    return slot is not None and slot.allowed


def claim_forward(remote: Remote) -> bool:
    """True (and ``remote`` recorded) if the current request may be forwarded to ``remote``."""
    slot = _slot.get()
    if slot is None or not slot.allowed:
        return False
    slot.remote = remote
    return True


class Forwarder:
    """This replica's side of forwarding: its id, the shared secret, an HTTP client."""

    def __init__(self, replica_id: str, secret: str, *, timeout_s: float) -> None:
        self.replica_id = replica_id
        self._secret = secret.encode()
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.forwarded = 0  # requests this replica sent to another
        self.fell_back = 0  # ... of which the owner could not be reached and this one served

    def trusts(self, secret: bytes | None) -> bool:
        return secret is not None and hmac.compare_digest(secret, self._secret)

    async def close(self) -> None:
        await self.client.aclose()

    async def relay(self, scope: Scope, body: bytes, remote: Remote, send: Send) -> bool:
        """Send the request to ``remote`` and its answer to the caller; False if nothing was
        sent and the caller should serve it here."""
        method: str = scope["method"]
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = remote.address.rstrip("/") + path.decode("latin-1")
        if query:
            url += "?" + query.decode("latin-1")
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k not in HOP_BY_HOP and k not in OURS and k != REQUEST_ID
        ]
        client = scope.get("client")
        headers += [(FORWARDED, self.replica_id.encode()), (SECRET, self._secret)]
        if client:
            headers.append((CLIENT, str(client[0]).encode()))
        request_id = current_request_id()
        if request_id:
            headers.append((REQUEST_ID, request_id.encode()))
        request = self.client.build_request(method, url, headers=headers, content=body)
        self.forwarded += 1
        try:
            response = await self.client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            return self._unreachable(remote, exc)
        except httpx.HTTPError as exc:
            if method in SAFE_METHODS:
                return self._unreachable(remote, exc)
            log.warning("forwarded %s to replica %s failed: %r", method, remote.replica, exc)
            await _error(send, 502, "REPLICA_UNREACHABLE", UNREACHABLE)
            return True
        note(terminal=f"replica:{remote.replica}")
        try:
            relayed = [(k, v) for k, v in response.headers.raw if k.lower() not in NOT_RELAYED]
            relayed = [(k, v) for k, v in relayed if k.lower() != REQUEST_ID]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": relayed}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
        return True

    def _unreachable(self, remote: Remote, exc: Exception) -> bool:
        self.fell_back += 1
        log.warning("replica %s unreachable (%s); serving here", remote.replica, type(exc).__name__)
        return False


UNREACHABLE = (
    "The gateway replica serving this account did not answer; the request may have been "
    "carried out. Retry with the same Idempotency-Key to learn its outcome."
)


async def _error(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ForwardingMiddleware:
    """See the module docstring. Inactive (a pass-through) unless the lifespan state holds a
    :class:`Forwarder` under ``replica_forwarder``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        forwarder = scope.get("state", {}).get(STATE_KEY) if scope["type"] == "http" else None
        if not isinstance(forwarder, Forwarder):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        marked = FORWARDED in headers
        trusted = marked and forwarder.trusts(headers.get(SECRET))
        if any(k in OURS for k in headers):
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k not in OURS])
        if trusted and CLIENT in headers:
            scope["client"] = (headers[CLIENT].decode("latin-1"), 0)
        here = _served_by(send, forwarder.replica_id.encode())
        if trusted:
            await self._run(scope, receive, here, _Slot(allowed=False))
            return
        body, complete = await _read_body(receive, MAX_BUFFERED)
        slot = _Slot(allowed=complete)
        replay = _replay(body, complete, receive)
        await self._run(scope, replay, _unless_forwarded(here, slot), slot)
        if slot.remote is None:
            return
        if not await forwarder.relay(scope, body, slot.remote, send):
            await self._run(scope, _replay(body, True, receive), here, _Slot(allowed=False))

    async def _run(self, scope: Scope, receive: Receive, send: Send, slot: _Slot) -> None:
        token = _slot.set(slot)
        try:
            await self.app(scope, receive, send)
        finally:
            _slot.reset(token)


def _served_by(send: Send, replica: bytes) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message, headers=[*message.get("headers", ()), (SERVED_BY, replica)])
        await send(message)

    return wrapped


def _unless_forwarded(send: Send, slot: _Slot) -> Send:
    """Drops the app's answer once the request is to be forwarded (it was refused for that)."""

    async def wrapped(message: Message) -> None:
        if slot.remote is None:
            await send(message)

    return wrapped


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The request body, and whether it is complete (False: longer than ``limit``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False  # disconnected: nothing to forward
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """``receive`` for the app: the buffered body first, then the caller's own stream."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed
