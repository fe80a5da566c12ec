"""The event log on SQLite and on a real PostgreSQL server: two writers (two gateway processes)
never share a seq and leave no gap; replay bounds; pruning; migration 0006 matches the models.

The store fixtures (a throwaway PostgreSQL cluster, migrated databases) are those of
``tests/store/conftest.py``, loaded by path."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from gateway.db import Base, make_engine, make_sessionmaker, session_scope
from gateway.events import models as event_models
from gateway.events import store
from gateway.events.schema import EventDraft
from gateway.store.models import utcnow
from gateway.webhooks import models as webhook_models

_spec = importlib.util.spec_from_file_location(
    "store_fixtures_for_events", Path(__file__).resolve().parents[1] / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_store = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_store)
postgres_server = _store.postgres_server
_databases = _store._databases
databases = _store.databases
db_url = _store.db_url

pytestmark = pytest.mark.anyio

OUR_TABLES = {
    event_models.EventStream.__tablename__,
    event_models.AccountEvent.__tablename__,
    webhook_models.WebhookEndpoint.__tablename__,
    webhook_models.WebhookDelivery.__tablename__,
}


def _drafts(n: int, tag: str) -> list[EventDraft]:
    return [EventDraft("deal.added", 1_764_072_000_000, {"writer": tag, "i": i}) for i in range(n)]


async def test_two_writers_never_share_a_seq_and_leave_no_gap(db_url: str) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]  # as two gateway processes would

    async def writer(index: int) -> list[list[int]]:
        sessions = make_sessionmaker(engines[index])
        batches = []
        for _ in range(25):
            async with session_scope(sessions) as session:
                events = await store.append(
                    session, "acc-1", _drafts(3, f"w{index}"), state={"w": index}, as_of=utcnow()
                )
            batches.append([e.seq for e in events])
        return batches

    try:
        results = await asyncio.gather(writer(0), writer(1))
        async with session_scope(make_sessionmaker(engines[0])) as session:
            stored = await store.events_after(session, "acc-1", 0, limit=1000)
            stream = await store.stream_of(session, "acc-1")
    finally:
        for engine in engines:
            await engine.dispose()
    batches = results[0] + results[1]
    assert all(b == list(range(b[0], b[0] + 3)) for b in batches)  # one transaction: contiguous
    assert sorted(s for b in batches for s in b) == list(range(1, 151))
    assert [e.seq for e in stored] == list(range(1, 151))
    assert stream is not None and stream.seq == 150


async def test_replay_bounds_and_pruning(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        async with session_scope(sessions) as session:
            assert await store.replayable(session, "acc-2", 0) == (True, 0)  # nothing yet
            await store.append(session, "acc-2", _drafts(5, "a"), state={}, as_of=None)
        async with session_scope(sessions) as session:
            assert await store.replayable(session, "acc-2", 0) == (True, 5)
            assert await store.replayable(session, "acc-2", 5) == (True, 5)
            assert await store.replayable(session, "acc-2", 6) == (False, 5)  # another store's
            after = await store.events_after(session, "acc-2", 2, upto=4)
            assert [e.seq for e in after] == [3, 4]
            pruned = await store.prune(session, utcnow() + timedelta(seconds=1))
            assert pruned == 5
        async with session_scope(sessions) as session:
            assert await store.replayable(session, "acc-2", 0) == (False, 5)
            assert await store.replayable(session, "acc-2", 5) == (True, 5)
            await store.append(session, "acc-2", _drafts(1, "b"), state={}, as_of=None)
        async with session_scope(sessions) as session:  # numbers continue after pruning
            assert [e.seq for e in await store.events_after(session, "acc-2", 0)] == [6]
            assert await store.replayable(session, "acc-2", 5) == (True, 6)
    finally:
        await engine.dispose()


def _our_drift(conn: Connection) -> list[Any]:
    diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diffs if OUR_TABLES & _tables(d)]


def _tables(diff: Any) -> set[str]:
    found: set[str] = set()
    for part in diff if isinstance(diff, list) else [diff]:
        for item in part if isinstance(part, tuple) else (part,):
            name = getattr(item, "name", None)
            table = getattr(item, "table", None)
            if isinstance(name, str):
                found.add(name)
            if table is not None and isinstance(getattr(table, "name", None), str):
                found.add(table.name)
            if isinstance(item, str):
                found.add(item)
    return found


async def test_migration_0006_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_our_drift) == []
    finally:
        await engine.dispose()
