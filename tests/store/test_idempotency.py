"""Idempotency keys on both databases, including a 50-way race for one key."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.store import idempotency
from gateway.store.idempotency import Claim, Outcome, request_hash
from gateway.store.models import IdempotencyKey, IdempotencyStatus

pytestmark = pytest.mark.anyio

Maker = async_sessionmaker[AsyncSession]
BODY = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1}
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def _begin(
    maker: Maker, body: object = BODY, *, user: str = "u1", key: str = "key-1", now: datetime = T0
) -> Claim:
    async with session_scope(maker) as s:
        return await idempotency.begin(
            s, user_id=user, key=key, request_hash=request_hash(body), now=now
        )


def test_request_hash_ignores_key_order_and_spacing() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})


async def test_same_key_same_request(sessionmaker: Maker) -> None:
    first = await _begin(sessionmaker)
    assert first.outcome is Outcome.STARTED
    assert first.record.status is IdempotencyStatus.IN_PROGRESS
    assert (await _begin(sessionmaker)).outcome is Outcome.IN_PROGRESS

    async with session_scope(sessionmaker) as s:  # the claim came from an earlier session
        await idempotency.complete(s, first.record, status_code=201, body={"ticket": 7, "ok": 1})
    replay = await _begin(sessionmaker)
    assert replay.outcome is Outcome.COMPLETED
    assert (replay.record.response_status, replay.record.response_body) == (
        201,
        {"ticket": 7, "ok": True},
    )


async def test_same_key_different_request_is_a_mismatch(sessionmaker: Maker) -> None:
    await _begin(sessionmaker)
    assert (await _begin(sessionmaker, {**BODY, "volume": 0.2})).outcome is Outcome.MISMATCH


async def test_keys_are_per_user(sessionmaker: Maker) -> None:
    assert (await _begin(sessionmaker, user="u1")).outcome is Outcome.STARTED
    assert (await _begin(sessionmaker, user="u2")).outcome is Outcome.STARTED
    assert (await _begin(sessionmaker, user="u1", key="key-2")).outcome is Outcome.STARTED


async def test_expired_key_starts_over_and_purge(sessionmaker: Maker) -> None:
    await _begin(sessionmaker)
    later = T0 + idempotency.DEFAULT_TTL
    again = await _begin(sessionmaker, {"other": "body"}, now=later)
    assert again.outcome is Outcome.STARTED and again.record.request_hash == request_hash(
        {"other": "body"}
    )
    await _begin(sessionmaker, key="key-2")
    async with session_scope(sessionmaker) as s:
        assert await idempotency.purge_expired(s, now=later + timedelta(seconds=1)) == 1
        assert [r.key for r in await s.scalars(select(IdempotencyKey))] == ["key-1"]


async def test_release_lets_the_client_retry(sessionmaker: Maker) -> None:
    claim = await _begin(sessionmaker)
    async with session_scope(sessionmaker) as s:
        await idempotency.release(s, claim.record)
    assert (await _begin(sessionmaker)).outcome is Outcome.STARTED


async def test_fifty_concurrent_begins_have_exactly_one_winner(sessionmaker: Maker) -> None:
    claims = await asyncio.gather(*(_begin(sessionmaker) for _ in range(50)))
    outcomes = Counter(c.outcome for c in claims)
    assert outcomes == {Outcome.STARTED: 1, Outcome.IN_PROGRESS: 49}
    assert len({c.record.id for c in claims}) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


async def test_concurrent_different_bodies_one_winner_rest_mismatch(sessionmaker: Maker) -> None:
    bodies = [{**BODY, "volume": 0.1 * (i + 1)} for i in range(20)]
    claims = await asyncio.gather(*(_begin(sessionmaker, b) for b in bodies))
    outcomes = Counter(c.outcome for c in claims)
    assert outcomes == {Outcome.STARTED: 1, Outcome.MISMATCH: 19}
