"""One WebSocket client from authentication to goodbye.

1. ``Origin``, when sent (browsers always do), must be one of ``CORS_ORIGINS``; otherwise the
   handshake is refused (HTTP 403). A token in the URL is refused too: proxies log URLs.
2. Authentication: the ``Authorization: Bearer`` header of the handshake, or else the first
   message ``{"type": "auth", "token": ...}`` within ``stream_auth_timeout_s``. The token is any
   credential the REST API takes (``gateway.auth.authenticator``): a Supabase token, an
   MT5-credential session token, or an API key with the ``stream`` scope. A bad, missing or
   expired token closes with 4001, a key without the ``stream`` scope or from an address it may
   not be used from with 4003, a caller throttled by failed attempts with 4029.
   ``auth_expiring`` is sent ``stream_auth_warning_s`` before the token's ``exp``; an ``auth``
   message with a fresh token of the same user extends the session, otherwise it closes with
   4001 at expiry. A key without an expiry does not expire on the stream, but an API key or
   session in use is checked again every ``RECHECK_S`` (through the authenticator's cache): a
   revoked one closes the stream with 4001.
3. At most ``stream_max_connections_per_user`` connections per user (else 4029).
4. Then three tasks until one ends: reading client messages, sending (``Outbox``), and the
   timers (heartbeat ``ping`` every ``stream_ping_s``, token expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway.accounts.context import ResolvedAccount, resolve_account
from gateway.auth.authenticator import Authenticator
from gateway.auth.schemas import Principal, User
from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import AuthError, AuthUnavailable, GatewayError, LoginThrottled
from gateway.events.schema import dumps, from_ms, iso
from gateway.events.watcher import WatchTarget
from gateway.keys.scopes import STREAM, require_scope
from gateway.store.crypto import Keyring
from gateway.stream import protocol as p
from gateway.stream.client import (
    CLOSE_BAD_PROTOCOL,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHORIZED,
    Outbox,
)
from gateway.stream.hub import Hub
from gateway.stream.subscriptions import (
    EventSubscription,
    MarketSubscription,
    StateSubscription,
    Subscription,
)

log = logging.getLogger("gateway.stream")

URL_TOKEN_PARAMS = ("token", "access_token", "jwt", "auth", "authorization", "apikey")
MAX_SUBSCRIPTIONS = 256  # per connection
CLOSE_WAIT_S = 5.0
CLOSE_FORBIDDEN = 4003  # a credential that may not use the stream (scope, address)
RECHECK_S = 5.0  # how often an API key or MT5-credential session in use is checked again


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Non-browser clients send no Origin; browsers must come from a configured origin."""
    return origin is None or "*" in allowed or origin.rstrip("/") in allowed


class Connection:
    def __init__(self, ws: WebSocket, hub: Hub) -> None:
        state = ws.state
        self.ws, self.hub = ws, hub
        self.settings: Settings = state.settings
        self.authenticator: Authenticator = state.authenticator
        self.keyring: Keyring = state.keyring
        self.sessions: async_sessionmaker[AsyncSession] = state.sessionmaker
        cfg = hub.settings
        self.cfg = cfg
        self.outbox = Outbox(
            ws, limit=cfg.stream_client_queue, send_timeout_s=cfg.stream_send_timeout_s
        )
        self.user: User | None = None
        self.token = ""  # the credential in use: API keys and sessions are checked again
        self.expires_at = math.inf
        self.subscriptions: dict[str | int, Subscription] = {}
        self._reauth = asyncio.Event()

    # -- the whole life ---------------------------------------------------------------------------

    async def serve(self) -> None:
        if any(name in self.ws.query_params for name in URL_TOKEN_PARAMS):
            await self._close(CLOSE_UNAUTHORIZED, "tokens in the URL are refused: send auth")
            return
        if not await self._authenticate():
            await self._close(*(self.outbox.closing or (CLOSE_UNAUTHORIZED, "unauthorized")))
            return
        assert self.user is not None
        usage = self.hub.usage(self.user.id)
        limit = self.cfg.stream_max_connections_per_user
        if usage.connections >= limit:
            detail = f"at most {limit} stream connections per user"
            await self.ws.send_text(p.error_text("CONNECTION_LIMIT", detail))
            await self._close(CLOSE_TOO_MANY, "too many connections")
            self.hub.release_user(self.user.id)
            return
        usage.connections += 1
        self.hub.connections += 1
        tasks = [
            asyncio.create_task(self.outbox.run()),
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._timers()),
            asyncio.create_task(self.outbox.closed.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for subscription in self.subscriptions.values():
                subscription.stop()
            self.subscriptions.clear()
            usage.connections -= 1
            self.hub.connections -= 1
            self.hub.release_user(self.user.id)
            if self.outbox.closing is not None:
                if self.outbox.closing[0] == 4008:
                    self.hub.overflows += 1
                await self._close(*self.outbox.closing)

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(code, reason), CLOSE_WAIT_S)

    # -- authentication ---------------------------------------------------------------------------

    async def _authenticate(self) -> bool:
        header = self.ws.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if header and (scheme.lower() != "bearer" or not token.strip()):
            self.outbox.close(CLOSE_UNAUTHORIZED, "malformed Authorization header")
            return False
        if not header:
            try:
                text = await asyncio.wait_for(self._next_text(), self.cfg.stream_auth_timeout_s)
            except TimeoutError:
                self.outbox.close(CLOSE_UNAUTHORIZED, "authenticate first: send auth")
                return False
            except WebSocketDisconnect:
                return False
            try:
                message = p.parse(text) if text is not None else None
            except p.ProtocolError:
                message = None
            if not isinstance(message, p.Auth):
                self.outbox.close(CLOSE_UNAUTHORIZED, "the first message must be auth")
                return False
            token = message.token
        return await self._accept_token(token.strip(), first=True)

    async def _accept_token(self, token: str, *, first: bool) -> bool:
        try:
            principal = await self._principal(token)
        except AuthError as exc:
            self.outbox.close(CLOSE_UNAUTHORIZED, exc.message[:100])
            return False
        except AuthUnavailable:
            self.outbox.close(1013, "token keys unavailable; retry later")
            return False
        except LoginThrottled as exc:
            self.outbox.close(CLOSE_TOO_MANY, exc.message[:100])
            return False
        except GatewayError as exc:  # 403: the credential may not use the stream from here
            self.outbox.close(CLOSE_FORBIDDEN, f"{exc.code}: {exc.message}"[:100])
            return False
        user = principal.user
        if not first and self.user is not None and user.id != self.user.id:
            self.outbox.close(CLOSE_UNAUTHORIZED, "auth must keep the same user")
            return False
        self.user, self.token = user, token
        self.expires_at = principal.expires_at if principal.expires_at is not None else math.inf
        self._warned = False
        self._reauth.set()
        reply: dict[str, str | None] = {"type": "authenticated", "user_id": user.id}
        finite = math.isfinite(self.expires_at)  # a key without expiry: null
        reply["expires_at"] = iso(from_ms(int(self.expires_at * 1000))) if finite else None
        text = dumps(reply)
        if first:
            await self.ws.send_text(text)
        else:
            self.outbox.push(text)
        return True

    async def _still_valid(self) -> bool:
        """An API key or MT5-credential session revoked (or its scope or address no longer
        allowed) closes the stream like an expired token: checked every ``RECHECK_S``, through
        the authenticator's own cache (``API_KEY_CACHE_S``). A Supabase JWT stays valid until
        its ``exp``."""
        if self.user is None or self.user.auth == "supabase":
            return True
        try:
            await self._principal(self.token)
        except AuthUnavailable:
            return True  # the store is down: judged again at the next check
        except (AuthError, LoginThrottled):
            self.outbox.close(CLOSE_UNAUTHORIZED, "credential revoked or expired")
            return False
        except GatewayError as exc:
            self.outbox.close(CLOSE_FORBIDDEN, f"{exc.code}: {exc.message}"[:100])
            return False
        return True

    async def _principal(self, token: str) -> Principal:
        ip = self.ws.client.host if self.ws.client else None
        principal = await self.authenticator.authenticate(token, ip)
        require_scope(principal.user, STREAM)
        return principal

    async def _next_text(self) -> str | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        return text if isinstance(text, str) else None

    # -- the three tasks --------------------------------------------------------------------------

    async def _receive(self) -> None:
        while self.outbox.closing is None:
            try:
                text = await self._next_text()
            except WebSocketDisconnect:
                return
            if text is None:
                self.outbox.close(CLOSE_BAD_PROTOCOL, "messages are JSON text")
                return
            try:
                await self._handle(p.parse(text))
            except p.ProtocolError as exc:
                self.outbox.push(exc.text())

    async def _timers(self) -> None:
        self._warned = False
        next_ping = time.monotonic() + self.cfg.stream_ping_s
        next_check = time.monotonic() + RECHECK_S
        while True:
            now = time.time()
            if now >= self.expires_at:
                self.outbox.close(CLOSE_UNAUTHORIZED, "token expired")
                return
            if time.monotonic() >= next_check:
                if not await self._still_valid():
                    return
                next_check = time.monotonic() + RECHECK_S
            warn_at = self.expires_at - self.cfg.stream_auth_warning_s
            if not self._warned and now >= warn_at:
                self._warned = True
                expires = iso(from_ms(int(self.expires_at * 1000)))
                in_s = max(0, int(self.expires_at - now))
                message = {"type": "auth_expiring", "expires_at": expires, "in_s": in_s}
                self.outbox.push(dumps(message))
            if time.monotonic() >= next_ping:
                self.outbox.put(
                    "ping", dumps({"type": "ping", "time": iso(from_ms(int(now * 1000)))})
                )
                next_ping = time.monotonic() + self.cfg.stream_ping_s
            wake = [self.expires_at - now, next_ping - time.monotonic()]
            if self.user is not None and self.user.auth != "supabase":
                wake.append(next_check - time.monotonic())
            if not self._warned:
                wake.append(warn_at - now)
            self._reauth.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reauth.wait(), max(0.01, min(wake)))

    # -- client messages --------------------------------------------------------------------------

    async def _handle(self, message: p.Auth | p.Subscribe | p.Unsubscribe | p.Ping) -> None:
        if isinstance(message, p.Auth):
            await self._accept_token(message.token, first=False)
        elif isinstance(message, p.Subscribe):
            await self._subscribe(message)
        elif isinstance(message, p.Unsubscribe):
            subscription = self.subscriptions.pop(message.id, None)
            if subscription is None:
                raise p.ProtocolError("UNKNOWN_SUBSCRIPTION", "no such subscription", message.id)
            subscription.stop()
            self.outbox.push(dumps({"type": "unsubscribed", "id": message.id}))
        elif message.type == "ping":
            self.outbox.push(dumps({"type": "pong", "time": message.time}))

    async def _subscribe(self, message: p.Subscribe) -> None:
        ref = message.id
        old = self.subscriptions.pop(ref, None)
        if old is not None:  # the same id again replaces the subscription
            old.stop()
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise p.ProtocolError(
                "SUBSCRIPTION_LIMIT", f"at most {MAX_SUBSCRIPTIONS} per connection", ref
            )
        subscription = await self._make(message)
        self.subscriptions[ref] = subscription
        try:
            await subscription.start()
        except BaseException:
            self.subscriptions.pop(ref, None)
            subscription.stop()
            raise

    async def _make(self, message: p.Subscribe) -> Subscription:
        ref, channels = message.id, message.channels()
        unknown = [c for c in channels if c not in p.CHANNELS]
        if unknown or not channels:
            detail = f"unknown channel {unknown[0]!r}" if unknown else "no channel"
            raise p.ProtocolError(
                "UNKNOWN_CHANNEL", f"{detail}; use one of {', '.join(p.CHANNELS)}", ref
            )
        if len(channels) > 1 and not set(channels) <= set(p.EVENT_CHANNELS):
            raise p.ProtocolError("VALIDATION_ERROR", "only event channels can be combined", ref)
        if message.after is not None and channels[0] not in p.EVENT_CHANNELS:
            raise p.ProtocolError("VALIDATION_ERROR", "after applies to event channels", ref)
        resolved = await self._resolve(message.account_id, ref)
        channel = channels[0]
        assert self.user is not None
        if channel in p.MARKET_CHANNELS:
            symbols = message.symbols or ([message.symbol] if message.symbol else [])
            if not symbols:
                raise p.ProtocolError("VALIDATION_ERROR", "symbols: give at least one", ref)
            if channel == "bars" and message.timeframe is None:
                raise p.ProtocolError("VALIDATION_ERROR", "timeframe: required for bars", ref)
            return MarketSubscription(
                self.hub,
                self.outbox,
                ref,
                user_id=self.user.id,
                server=resolved.ref.server,
                symbols=list(dict.fromkeys(symbols)),
                timeframe=message.timeframe if channel == "bars" else None,
            )
        target = WatchTarget(resolved.ref.id, resolved.key, resolved.credentials)
        if channel in p.STATE_CHANNELS:
            return StateSubscription(self.hub, self.outbox, ref, target, channel)
        return EventSubscription(self.hub, self.outbox, ref, target, channels, message.after)

    async def _resolve(self, account_id: str | None, ref: str | int) -> ResolvedAccount:
        assert self.user is not None
        try:
            async with session_scope(self.sessions) as session:
                return await resolve_account(
                    session, self.keyring, self.settings, self.user, account_id
                )
        except GatewayError as exc:
            raise p.ProtocolError(exc.code, exc.message, ref) from None


def handshake_refusal(ws: WebSocket, settings: Settings) -> str | None:
    """Why the handshake must be refused (HTTP 403), or None. A page the gateway serves
    itself (the console) comes from the gateway's own origin, which is always allowed."""
    origin = ws.headers.get("origin")
    own = {f"{scheme}://{ws.headers.get('host', '')}" for scheme in ("http", "https")}
    if origin is not None and origin.rstrip("/") in own:
        return None
    if not origin_allowed(origin, list(settings.cors_origins)):
        return "origin not allowed"
    return None
