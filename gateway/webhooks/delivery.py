"""The webhook delivery worker: POSTs what the outbox owes, retries, gives up after a while.

A round takes the due head of every (endpoint, account) and attempts them concurrently (one
request per endpoint and account at a time, so their order holds). A 2xx answer delivers the
row; anything else (another status, a redirect, a timeout, a refused target) is a failed
attempt: the row is retried after ``webhook_backoff_base_s`` · 2^(attempts − 1), at most an
hour apart, and once it has been failing for ``webhook_retry_window_s`` the endpoint is
disabled with the reason (``POST /webhooks/{id}/replay`` turns it on again). The worker wakes
when new events are committed and otherwise looks every second.

It also keeps the hub watching every account some enabled endpoint follows, so events exist
for webhooks even when no client holds a stream open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.context import (
    ResolvedAccount,
    ref_of,
    resolve_account,
    stored_credentials,
)
from gateway.auth.schemas import User
from gateway.db import session_scope
from gateway.errors import GatewayError
from gateway.events.schema import Event, dumps
from gateway.events.watcher import WatchTarget
from gateway.store import accounts as account_store
from gateway.store.crypto import Encrypted, Keyring
from gateway.store.models import utcnow
from gateway.stream.hub import Hub
from gateway.stream.settings import StreamSettings
from gateway.webhooks import outbox, signing, targets
from gateway.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("gateway.webhooks")

IDLE_POLL_S = 1.0
REFRESH_S = 60.0
MAX_BACKOFF_S = 3600.0
CONCURRENCY = 16


def secret_aad(endpoint_id: str) -> bytes:
    return f"webhook-secret\x00{endpoint_id}".encode()


def decrypt_secret(keyring: Keyring, endpoint: WebhookEndpoint) -> str:
    sealed = Encrypted(endpoint.key_id, endpoint.secret)
    return keyring.decrypt(sealed, secret_aad(endpoint.id)).get_secret_value()


class Deliveries:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        keyring: Keyring,
        gateway_settings: Any,
        settings: StreamSettings,
    ) -> None:
        self._sessions, self._keyring = sessions, keyring
        self._gateway_settings = gateway_settings
        self.settings = settings
        self._https_only = bool(getattr(gateway_settings, "is_production", False))
        self._hub: Hub | None = None
        self._wake = asyncio.Event()
        self._refresh = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._watched: set[str] = set()
        self._http = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
            headers={"user-agent": "mt5-gateway-webhooks"},
        )
        self.delivered = 0
        self.failed_attempts = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self._tasks = [
            asyncio.create_task(self._deliver_loop(), name="webhook-deliveries"),
            asyncio.create_task(self._watch_loop(), name="webhook-watches"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._hub is not None:
            for account_id in self._watched:
                self._hub.unwatch(account_id)
        self._watched.clear()
        await self._http.aclose()

    def wake(self) -> None:
        self._wake.set()

    def endpoints_changed(self) -> None:
        self._refresh.set()
        self._wake.set()

    async def sink(self, session: AsyncSession, events: Sequence[Event]) -> None:
        """The hub's sink: owe new events to the endpoints, wake up once they are committed."""
        if await outbox.enqueue(session, events):
            event.listen(session.sync_session, "after_commit", lambda _: self.wake(), once=True)

    # -- delivering -----------------------------------------------------------------------------

    async def _deliver_loop(self) -> None:
        while True:
            try:
                done = await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery round failed")
                done = 0
            if not done:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)

    async def round(self) -> int:
        """Attempt every due head once; how many were attempted."""
        async with session_scope(self._sessions) as session:
            heads = await outbox.due_heads(session, utcnow(), limit=CONCURRENCY * 4)
            endpoints = {
                e.id: e
                for e in await session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.id.in_({h.endpoint_id for h in heads})
                    )
                )
            }
        gate = asyncio.Semaphore(CONCURRENCY)

        async def attempt(row: WebhookDelivery) -> None:
            async with gate:
                await self._attempt(endpoints[row.endpoint_id], row)

        await asyncio.gather(*(attempt(h) for h in heads if h.endpoint_id in endpoints))
        return len(heads)

    async def _attempt(self, endpoint: WebhookEndpoint, row: WebhookDelivery) -> None:
        body = dumps(row.payload).encode()
        status: int | None = None
        error: str | None = None
        try:
            secret = decrypt_secret(self._keyring, endpoint)
            await targets.check(
                endpoint.url,
                allow_private=self.settings.webhook_allow_private_targets,
                https_only=self._https_only,
            )
            stamp = int(time.time())
            head = signing.headers(secret, row.event_id, stamp, body)
            response = await self._http.post(endpoint.url, content=body, headers=head)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except targets.TargetRefused as exc:
            error = f"target refused: {exc}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        except Exception as exc:  # e.g. the secret no longer decrypts with the configured keys
            error = f"{type(exc).__name__}"
        await self._record(endpoint, row, status, error)

    async def _record(
        self, endpoint: WebhookEndpoint, row: WebhookDelivery, status: int | None, error: str | None
    ) -> None:
        now = utcnow()
        async with session_scope(self._sessions) as session:
            current = await session.get(WebhookDelivery, row.id)
            if current is None or current.status != DeliveryStatus.PENDING:
                return  # deleted or replaced by a replay meanwhile
            current.attempts += 1
            current.last_attempt_at = now
            current.last_status = status
            current.last_error = error
            if error is None:
                current.status = DeliveryStatus.DELIVERED
                current.delivered_at = now
                self.delivered += 1
                return
            self.failed_attempts += 1
            backoff = self.settings.webhook_backoff_base_s * 2 ** (current.attempts - 1)
            current.next_attempt_at = now + timedelta(seconds=min(MAX_BACKOFF_S, backoff))
            failing_s = (now - current.created_at).total_seconds()
            if failing_s >= self.settings.webhook_retry_window_s:
                target = await session.get(WebhookEndpoint, endpoint.id)
                if target is not None and target.enabled:
                    target.enabled = False
                    target.disabled_at = now
                    target.disabled_reason = (
                        f"deliveries failed for {int(failing_s)} s "
                        f"({current.attempts} attempts); last: {error}"
                    )
                    log.warning("webhook %s disabled: %s", target.id, target.disabled_reason)

    # -- which accounts must be watched ------------------------------------------------------------

    async def _watch_loop(self) -> None:
        while True:
            try:
                await self.refresh_watches()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook account watches could not be refreshed")
            self._refresh.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh.wait(), REFRESH_S)

    async def refresh_watches(self) -> None:
        if self._hub is None:
            return
        wanted = await self._targets()
        for account_id, target in wanted.items():
            if account_id not in self._watched:
                await self._hub.watch(target)
                self._watched.add(account_id)
        for account_id in self._watched - set(wanted):
            self._hub.unwatch(account_id)
            self._watched.discard(account_id)

    async def _targets(self) -> dict[str, WatchTarget]:
        out: dict[str, WatchTarget] = {}
        async with session_scope(self._sessions) as session:
            rows = await session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
            )
            for endpoint in rows.all():
                for resolved in await self._accounts_of(session, endpoint):
                    ref = resolved.ref
                    out[ref.id] = WatchTarget(ref.id, resolved.key, resolved.credentials)
        return out

    async def _accounts_of(
        self, session: AsyncSession, endpoint: WebhookEndpoint
    ) -> list[ResolvedAccount]:
        user = User(id=endpoint.user_id)
        if endpoint.account_id is None:
            rows = await account_store.list_for_user(session, endpoint.user_id)
            keyring = self._keyring
            return [ResolvedAccount(ref_of(r), stored_credentials(keyring, r), r) for r in rows]
        try:
            resolved = await resolve_account(
                session, self._keyring, self._gateway_settings, user, endpoint.account_id
            )
        except GatewayError:  # the account is gone: nothing to watch for this endpoint
            return []
        return [resolved]
