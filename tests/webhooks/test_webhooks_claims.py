"""Several delivery workers on one store (one per gateway replica): a due row goes to the worker
that claimed it, one at a time, in order, and a claim of a worker that died lapses.

The first test runs the real gateway (whose lifespan starts a worker) on a real PostgreSQL
store with a second worker of its own on the same store, against a local receiver that notes
any request arriving while another for the same delivery is still being answered. The others
work the outbox directly, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from helpers import JwksServer
from receiver import Receiver
from server_process import TerminalServerProcess
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stream_support import Accounts, Stack, gateway_settings, seed

from gateway.config import Settings
from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.events.schema import Event
from gateway.store.crypto import Keyring, generate_key
from gateway.store.models import utcnow
from gateway.stream.settings import StreamSettings
from gateway.webhooks import outbox
from gateway.webhooks.delivery import Deliveries, secret_aad
from gateway.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.anyio

PRIVATE = {"webhook_allow_private_targets": True, "webhook_backoff_base_s": 0.2}
PATHS = ["/hook/a", "/hook/b", "/hook/c"]  # one endpoint each: three chains at once
SIDES = ["buy", "sell", "buy", "sell"]  # hedging: each trade adds a deal and opens a position
EVENTS = 2 * len(SIDES)
REFUSED = 15  # attempts answered 503 before the receiver comes back


@dataclass(frozen=True)
class Store:
    """What ``make_stack(reuse=...)`` takes: a store seeded here."""

    key: str
    db_url: str
    ids: Accounts


def _worker(
    settings: Settings,
    keyring: Keyring,
    sessions: async_sessionmaker[AsyncSession],
    worker_id: str | None = None,
) -> Deliveries:
    return Deliveries(
        sessions=sessions,
        keyring=keyring,
        gateway_settings=settings,
        settings=StreamSettings.from_settings(settings),
        worker_id=worker_id,
    )


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[WebhookDelivery]:
    async with session_scope(sessions) as session:
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.seq, WebhookDelivery.id)
        return list((await session.scalars(stmt)).all())


@pytest.mark.needs_binary("postgres")
async def test_two_workers_on_one_postgresql_store_attempt_each_row_once_at_a_time(
    make_stack: Callable[..., Stack],
    jwks: JwksServer,
    sim_server: TerminalServerProcess,
    receiver: Receiver,
    postgres_url: str,
) -> None:
    key = generate_key("k1")
    store = Store(key, postgres_url, await seed(postgres_url, Keyring.parse(key)))
    stack = make_stack(reuse=store, **PRIVATE)  # the gateway and its worker
    settings = gateway_settings(jwks, sim_server, postgres_url, key, **PRIVATE)
    engine = make_engine(postgres_url)
    sessions = make_sessionmaker(engine)
    # another replica's worker, its own pool
    second = _worker(settings, Keyring.parse(key), sessions)
    await second.start(None)
    receiver.hold_s = 0.3  # each request is in flight a while: room for a second sender
    try:
        hooks: dict[str, str] = {}
        async with stack.http() as http:
            for path in PATHS:
                body = {"url": f"{receiver.url}{path}", "account_id": stack.ids.hedging}
                created = await http.post("/webhooks", json=body)
                assert created.status_code == 201, created.text
                hooks[created.json()["id"]] = path
        await asyncio.sleep(0.5)  # the hub starts following the account for the webhooks
        receiver.mode = "down"
        async with stack.http() as http:
            for side in SIDES:
                trade = {"symbol": "EURUSD", "order_type": side, "volume": 0.1}
                params = {"account_id": stack.ids.hedging}
                response = await http.post("/trades", json=trade, params=params)
                assert response.status_code == 200, response.text
        for _ in range(1200):  # retried by both workers, backing off (a safety bound only)
            if len(receiver.requests) >= REFUSED:
                break
            await asyncio.sleep(0.05)
        receiver.mode = "ok"
        for _ in range(1200):  # a safety bound only
            rows = await _rows(sessions)
            if len(rows) == len(PATHS) * EVENTS and all(
                r.status == DeliveryStatus.DELIVERED for r in rows
            ):
                break
            await asyncio.sleep(0.1)
        assert [r.status for r in rows] == [DeliveryStatus.DELIVERED] * len(PATHS) * EVENTS
        metrics = await stack.metrics()
    finally:
        await second.close()
        await engine.dispose()

    assert receiver.overlaps == []  # never two attempts of one delivery at once
    for endpoint_id, path in hooks.items():
        owed = [r for r in rows if r.endpoint_id == endpoint_id]
        assert len(owed) == EVENTS
        requests = receiver.delivered(path)
        delivered = [r.headers["webhook-id"] for r in requests if r.status == 204]
        assert delivered == [r.event_id for r in owed]  # each once, in seq order
        seqs = [r.json["data"]["seq"] for r in requests]
        assert seqs == sorted(seqs)  # a retry repeats a seq; the order never goes back
        assert len(requests) == sum(r.attempts for r in owed)  # every attempt its owner's
    assert all(r.claimed_by is None and r.claimed_until is None for r in rows)
    gateway_attempts = (
        metrics["gateway_webhook_deliveries_total{}"]
        + metrics["gateway_webhook_failed_attempts_total{}"]
    )
    second_attempts = second.delivered + second.failed_attempts
    assert gateway_attempts + second_attempts == len(receiver.requests)
    assert gateway_attempts > 0 and second_attempts > 0  # both workers took part
    assert len(receiver.requests) >= REFUSED + len(PATHS) * EVENTS


# -- the outbox's claims, on both stores ---------------------------------------------------------


def _settings() -> Settings:
    values = {"webhook_allow_private_targets": True, "webhook_backoff_base_s": 60.0}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _event(account_id: str, seq: int) -> Event:
    return Event(
        id=f"ev-{seq}",
        account_id=account_id,
        seq=seq,
        channel="deals",
        type="deal.added",
        time=utcnow(),
        reconciled=False,
        cause=None,
        data={"ticket": seq},
    )


async def _owed(
    sessions: async_sessionmaker[AsyncSession],
    keyring: Keyring,
    account_id: str = "acc-1",
    url: str = "http://127.0.0.1:9/hook",
) -> WebhookEndpoint:
    """An endpoint of ``account_id`` owed its events 1, 2 and 3."""
    async with session_scope(sessions) as session:
        endpoint_id = outbox.new_endpoint_id()
        sealed = keyring.encrypt("whsec_dGVzdA==", secret_aad(endpoint_id))
        endpoint = WebhookEndpoint(
            id=endpoint_id,
            user_id="trader-1",
            account_id=account_id,
            url=url,
            event_types=[],
            secret=sealed.ciphertext,
            key_id=sealed.key_id,
            enabled=True,
        )
        session.add(endpoint)
        await session.flush()
        assert await outbox.enqueue(session, [_event(account_id, s) for s in (1, 2, 3)]) == 3
    return endpoint


async def _claim(
    sessions: async_sessionmaker[AsyncSession], worker: str, later_s: float = 0.0
) -> list[int]:
    """What ``worker`` claims of the due heads, ``later_s`` after now on the store's clock."""
    async with session_scope(sessions) as session:
        now = utcnow()
        at = await outbox.store_now(session) + timedelta(seconds=later_s)
        due = await outbox.due_heads(session, now, claims_at=at)
        got = await outbox.claim(
            session, [h.id for h in due], worker, now=now, claims_at=at, lease_s=60
        )
        return [h.seq for h in due if h.id in got]


async def _due(sessions: async_sessionmaker[AsyncSession], later_s: float = 0.0) -> list[int]:
    async with session_scope(sessions) as session:
        at = await outbox.store_now(session) + timedelta(seconds=later_s)
        return [h.seq for h in await outbox.due_heads(session, utcnow(), claims_at=at)]


async def test_a_claimed_head_is_one_workers_and_holds_the_rows_after_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    keyring = Keyring.parse(generate_key("k1"))
    await _owed(sessionmaker, keyring)
    assert await _due(sessionmaker) == [1]
    assert await _claim(sessionmaker, "a") == [1]
    assert await _claim(sessionmaker, "b") == []  # a holds it
    assert await _due(sessionmaker) == []  # not due, and seq 2 waits behind it
    async with session_scope(sessionmaker) as session:  # claiming read heads: only the head
        rows = list((await session.scalars(select(WebhookDelivery))).all())
        now = utcnow()
        at = await outbox.store_now(session)
        ids = [r.id for r in rows]
        assert await outbox.claim(session, ids, "b", now=now, claims_at=at, lease_s=60) == set()
    # a died: once its claim lapsed (60 s on the store's clock), b takes the same head
    assert await _due(sessionmaker, later_s=61) == [1]
    assert await _claim(sessionmaker, "b", later_s=61) == [1]


async def test_an_outcome_is_recorded_only_by_the_worker_holding_the_row(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    keyring = Keyring.parse(generate_key("k1"))
    endpoint = await _owed(sessionmaker, keyring)
    settings = _settings()
    a = _worker(settings, keyring, sessionmaker, "a")
    b = _worker(settings, keyring, sessionmaker, "b")
    try:
        assert await _claim(sessionmaker, "a") == [1]
        assert await _claim(sessionmaker, "b", later_s=61) == [1]  # a's claim lapsed
        (head, *_) = await _rows(sessionmaker)
        await a._record(endpoint, head, 204, None)  # a's late answer: b owns the row now
        (head, *_) = await _rows(sessionmaker)
        assert (head.status, head.attempts, head.claimed_by) == (DeliveryStatus.PENDING, 0, "b")
        await b._record(endpoint, head, 503, "HTTP 503")
        (head, *_) = await _rows(sessionmaker)
        assert (head.status, head.attempts, head.last_status) == (DeliveryStatus.PENDING, 1, 503)
        assert head.claimed_by is None and head.claimed_until is None  # free for a retry
        assert await _due(sessionmaker, later_s=61) == []  # backing off a minute
        # b claims its retry, then stops mid-attempt: its claims are given back at once
        async with session_scope(sessionmaker) as session:
            row = await session.get(WebhookDelivery, head.id)
            assert row is not None
            row.next_attempt_at = utcnow()
        assert await _claim(sessionmaker, "b") == [1]
        await b.close()
        assert await _claim(sessionmaker, "a") == [1]
        await a._record(endpoint, head, 204, None)
        rows = await _rows(sessionmaker)
        assert [(r.seq, r.status) for r in rows] == [
            (1, DeliveryStatus.DELIVERED),
            (2, DeliveryStatus.PENDING),
            (3, DeliveryStatus.PENDING),
        ]
        assert await _due(sessionmaker) == [2]
    finally:
        await a.close()
        await b.close()


async def test_two_workers_deliver_every_row_once_in_order(
    sessionmaker: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    """Both workers' rounds at once, on either store: every row delivered by one of them."""
    keyring = Keyring.parse(generate_key("k1"))
    endpoints = [
        await _owed(sessionmaker, keyring, f"acc-{i}", f"{receiver.url}/hook/{i}") for i in range(4)
    ]
    settings = _settings()
    workers = [_worker(settings, keyring, sessionmaker) for _ in range(2)]
    receiver.hold_s = 0.05
    try:
        for _ in range(100):  # a safety bound only
            done = await asyncio.gather(*(w.round() for w in workers))
            if not any(done):
                break
    finally:
        for worker in workers:
            await worker.close()
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED} and len(rows) == 12
    assert receiver.overlaps == []
    assert len(receiver.requests) == 12 == sum(r.attempts for r in rows)
    for i, endpoint in enumerate(endpoints):
        assert endpoint.account_id == f"acc-{i}"
        seqs = [r.json["data"]["seq"] for r in receiver.delivered(f"/hook/{i}")]
        assert seqs == [1, 2, 3]
