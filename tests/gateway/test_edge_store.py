"""The ledger's store side on SQLite and PostgreSQL: JSON columns take whatever reaches them
(NUL, lone surrogates and non-finite numbers are made storable instead of failing the
transaction), and the desk's UPDATE-by-key helpers change only what they should.

The database fixtures are those of ``tests/store/conftest.py``, loaded by path."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.store import audit, idempotency, trades
from gateway.store.models import IdempotencyKey, IdempotencyStatus, TradeRequest, TradeState
from gateway.validation import cut_utf16, storable, utf16_units

_spec = importlib.util.spec_from_file_location(
    "store_fixtures", Path(__file__).resolve().parents[1] / "store" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_store = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_store)
postgres_server = _store.postgres_server
_databases = _store._databases
databases = _store.databases
db_url = _store.db_url
sessionmaker = _store.sessionmaker
anyio_backend = _store.anyio_backend

Maker = async_sessionmaker[AsyncSession]
HOSTILE = {
    "comment": "gw0123456789 a\x00b",
    "tp": math.inf,
    "sl": -math.inf,
    "price": math.nan,
    "lone": "x\ud800y",
    "key\x00": [1.5, math.inf, {"deep": "\x00"}],
}
STORED = {
    "comment": "gw0123456789 a\ufffdb",
    "tp": None,
    "sl": None,
    "price": None,
    "lone": "x\ufffdy",
    "key\ufffd": [1.5, None, {"deep": "\ufffd"}],
}


def test_storable_and_utf16_cuts() -> None:
    assert storable(HOSTILE) == STORED
    assert storable({"plain": "ascii", "n": 2**64, "ok": True}) == {
        "plain": "ascii",
        "n": 2**64,
        "ok": True,
    }
    emoji = "\U0001f600"
    assert utf16_units(emoji * 3 + "a") == 7
    assert cut_utf16("ab" + emoji * 3, 5) == "ab" + emoji  # never half a surrogate pair
    assert cut_utf16("ab" + emoji * 3, 6) == "ab" + emoji * 2
    assert cut_utf16("short", 29) == "short"


@pytest.mark.anyio
async def test_json_columns_hold_what_the_api_never_sends(sessionmaker: Maker) -> None:
    async with session_scope(sessionmaker) as s:
        row = await trades.create(s, user_id="u1", account_id="default", request=HOSTILE)
        await audit.append(s, user_id="u1", action="trade.open", request=HOSTILE, outcome=HOSTILE)
        await idempotency.begin(s, user_id="u1", key="k1", request_hash="h")
    async with session_scope(sessionmaker) as s:
        await trades.settle(s, row.request_id, TradeState.UNKNOWN, HOSTILE)
        await idempotency.complete_key(s, user_id="u1", key="k1", status_code=504, body=HOSTILE)
    async with session_scope(sessionmaker) as s:
        stored = (await s.scalars(select(TradeRequest))).one()
        (entry,) = await audit.list_entries(s, user_id="u1")
        key = (await s.scalars(select(IdempotencyKey))).one()
    assert stored.request == STORED and stored.result == STORED
    assert stored.state is TradeState.UNKNOWN
    assert entry.request == STORED and entry.outcome == STORED
    assert key.status is IdempotencyStatus.COMPLETED and key.response_body == STORED


@pytest.mark.anyio
async def test_keys_by_user_and_key_never_replace_a_stored_answer(sessionmaker: Maker) -> None:
    async with session_scope(sessionmaker) as s:
        first = await idempotency.begin(s, user_id="u1", key="done", request_hash="h")
        await idempotency.begin(s, user_id="u1", key="open", request_hash="h")
        await idempotency.begin(s, user_id="u2", key="done", request_hash="h")
    assert first.record.status is IdempotencyStatus.IN_PROGRESS and first.record.id
    async with session_scope(sessionmaker) as s:
        await idempotency.complete(s, first.record, status_code=200, body={"first": True})
    async with session_scope(sessionmaker) as s:  # a late reconciliation finds it completed
        await idempotency.complete_key(s, user_id="u1", key="done", status_code=504, body={})
        await idempotency.release_key(s, user_id="u1", key="done")  # completed: kept
        await idempotency.release_key(s, user_id="u1", key="open")  # in progress: freed
    async with session_scope(sessionmaker) as s:
        rows = {(r.user_id, r.key): r for r in (await s.scalars(select(IdempotencyKey))).all()}
    assert set(rows) == {("u1", "done"), ("u2", "done")}
    assert rows["u1", "done"].response_status == 200
    assert rows["u1", "done"].response_body == {"first": True}
    assert rows["u2", "done"].status is IdempotencyStatus.IN_PROGRESS  # another user's: untouched
