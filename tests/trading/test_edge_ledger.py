"""Issue 8 item 3, the ledger side, on SQLite and PostgreSQL: the store fails around a send.

The store is made to fail with a trigger on ``trade_requests`` (a real database refusing a real
statement): refusing the INSERT fails the call before anything is sent, refusing the UPDATE
fails it after the order executed. Before: a stuck key, and a 500 for an executed order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import make_url
from trading_support import Api, StoreGateway, ok

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION edge_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused by the test'; END $$"""


def _pg(url: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def refused_statement(url: str, operation: str) -> Iterator[None]:
    """``operation`` (INSERT or UPDATE) on trade_requests fails while the block runs."""
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        with sqlite3.connect(path) as db:
            db.execute(
                f"CREATE TRIGGER edge_refuse BEFORE {operation} ON trade_requests "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        try:
            yield
        finally:
            with sqlite3.connect(path) as db:
                db.execute("DROP TRIGGER edge_refuse")
        return
    _pg(
        url,
        PG_FUNCTION,
        f"CREATE TRIGGER edge_refuse BEFORE {operation} ON trade_requests "
        "FOR EACH ROW EXECUTE FUNCTION edge_refuse()",
    )
    try:
        yield
    finally:
        _pg(url, "DROP TRIGGER edge_refuse ON trade_requests")


def newest_audit(api: Api, action: str) -> dict[str, Any]:
    entries = ok(api.get("/audit", params={"action": action, "limit": 1}))["entries"]
    assert entries, f"no audit entry for {action}"
    entry: dict[str, Any] = entries[0]
    return entry


def test_a_store_failure_after_the_send_is_504_and_settles_later(
    store_api: Api, store_gateway: StoreGateway
) -> None:
    with refused_statement(store_gateway.url, "UPDATE"):
        response = store_api.trade("EURUSD", "buy", 0.1, key="edge-ledger-after")
        assert response.status_code == 504, response.text
        body = response.json()
        assert body["code"] == "OUTCOME_UNKNOWN" and body["detail"]
        request_id = body["request_id"]
        entry = newest_audit(store_api, "trade.open")  # the audit entry is written anyway
        assert entry["outcome"]["code"] == "OUTCOME_UNKNOWN"
        assert entry["outcome"]["request_id"] == request_id
        (position,) = store_api.positions()  # the order did execute
        busy = store_api.trade("EURUSD", "buy", 0.1, key="edge-ledger-after")
        assert busy.status_code == 409 and busy.json()["request_ids"] == [request_id]
    state = store_api.wait_request(request_id, until={"done", "failed"})
    assert state["state"] == "done" and state["result"]["reconciled"] is True
    replay = ok(store_api.trade("EURUSD", "buy", 0.1, key="edge-ledger-after"))
    assert replay["replayed"] and replay["success"] and replay["request_id"] == request_id
    assert replay["ticket"] == position["ticket"]
    assert len(store_api.history_orders()) == 1  # one order for the key, never two


def test_a_store_failure_before_the_send_frees_the_key(
    store_api: Api, store_gateway: StoreGateway
) -> None:
    with refused_statement(store_gateway.url, "INSERT"):
        response = store_api.trade("EURUSD", "sell", 0.2, key="edge-ledger-before")
        assert response.status_code in (500, 503), response.text
        assert isinstance(response.json()["code"], str)
        assert store_api.history_orders() == []  # nothing was sent
    entry = newest_audit(store_api, "trade.open")
    assert entry["request"]["volume"] == 0.2 and "refused" in entry["outcome"]
    retry = ok(store_api.trade("EURUSD", "sell", 0.2, key="edge-ledger-before"))
    assert retry["success"] and "replayed" not in retry
    assert len(store_api.history_orders()) == 1
