"""The webhook delivery worker: POSTs what the outbox owes, retries, gives up after a while.

A round takes the due head of every (endpoint, account) and attempts them concurrently (one
request per endpoint and account at a time, so their order holds). Several replicas on one
store each run a worker: a worker attempts only the heads it claimed (``outbox.claim``, one
``UPDATE`` that one worker wins), for ``lease_s``, longer than an attempt may last (each is cut
off at ``attempt_deadline_s``); it records the outcome only while the row is still its own, and
gives its claims back when it stops. A worker that dies mid-attempt holds its rows until the
claim lapses; then another attempts them again (at least once, still in order).

A 2xx answer delivers the row; anything else (another status, a redirect, a timeout, a
refused target) is a failed attempt: the row is retried after ``webhook_backoff_base_s`` ·
2^(attempts − 1), at most an hour apart, and once it has been failing for
``webhook_retry_window_s`` the endpoint is disabled with the reason (``POST
/webhooks/{id}/replay`` turns it on again). The worker wakes when new events are committed and
otherwise looks every second.

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
from gateway.replicas.settings import generated_id
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
        worker_id: str | None = None,
    ) -> None:
        self._sessions, self._keyring = sessions, keyring
        self.worker_id = worker_id or generated_id()  # whose claims (``claimed_by``)
        # DNS check + connect + send + read, each phase bounded by the timeout in httpx
        self.attempt_deadline_s = 2 * settings.webhook_timeout_s + 5.0
        self.lease_s = self.attempt_deadline_s + 30.0
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

    async def start(self, hub: Hub | None) -> None:
        """Deliver; with ``hub``, also keep it watching the accounts that endpoints follow."""
        self._hub = hub
        self._tasks = [
            asyncio.create_task(self._deliver_loop(), name="webhook-deliveries"),
            asyncio.create_task(self._watch_loop(), name="webhook-watches"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # attempts cut short: the other workers may take those rows now, not at expiry
            async with session_scope(self._sessions) as session:
                await outbox.release(session, self.worker_id)
        except Exception:
            log.warning("webhook claims of %s left to expire", self.worker_id, exc_info=True)
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
        """Claim due heads and attempt each once; how many were attempted."""
        for _ in range(2):  # another worker claimed all we read: read past its claims once
            heads, endpoints, due = await self._claim_due()
            if heads or not due:
                break
        gate = asyncio.Semaphore(CONCURRENCY)

        async def attempt(row: WebhookDelivery) -> None:
            async with gate:
                await self._attempt(endpoints[row.endpoint_id], row)

        await asyncio.gather(*(attempt(h) for h in heads if h.endpoint_id in endpoints))
        return len(heads)

    async def _claim_due(
        self,
    ) -> tuple[list[WebhookDelivery], dict[str, WebhookEndpoint], int]:
        """The due heads this worker claimed (committed before any is attempted), their
        endpoints, and how many heads were due."""
        async with session_scope(self._sessions) as session:
            now, claims_at = utcnow(), await outbox.store_now(session)
            due = await outbox.due_heads(session, now, limit=CONCURRENCY, claims_at=claims_at)
            mine = await outbox.claim(
                session,
                [h.id for h in due],
                self.worker_id,
                now=now,
                claims_at=claims_at,
                lease_s=self.lease_s,
            )
            heads = [h for h in due if h.id in mine]
            endpoints = {
                e.id: e
                for e in await session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.id.in_({h.endpoint_id for h in heads})
                    )
                )
            }
        return heads, endpoints, len(due)

    async def _attempt(self, endpoint: WebhookEndpoint, row: WebhookDelivery) -> None:
        body = dumps(row.payload).encode()
        status: int | None = None
        error: str | None = None
        try:
            secret = decrypt_secret(self._keyring, endpoint)
            async with asyncio.timeout(self.attempt_deadline_s):
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
        except TimeoutError:
            error = "attempt timed out"
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
            current = await session.get(WebhookDelivery, row.id, with_for_update=True)
            if current is None or current.status != DeliveryStatus.PENDING:
                return  # deleted or replaced by a replay meanwhile
            if current.claimed_by != self.worker_id:
                log.warning("webhook delivery %s: claim lapsed mid-attempt, not recorded", row.id)
                return  # another worker took it over: its attempt is the one to record
            current.claimed_by = current.claimed_until = None
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
