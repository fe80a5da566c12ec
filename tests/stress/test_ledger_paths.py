"""The fast paths of the trade ledger and of the read answers keep their guarantees.

* A ledger transaction on SQLite never blocks the event loop on another writer's lock: it goes
  to the ledger thread, waits its turn there and commits, while the loop keeps running.
* ``?synchronous=full`` on a SQLite URL makes every connection fsync its commits; the default
  is ``NORMAL``; anything else is refused.
* A retried close whose first attempt completed answers the stored result although preparing
  it again fails (the position is gone): the key is looked up before answering the failure.
* A close-all that sends nothing still records its answer under its key.
* Bars written as JSON text column by column are the same JSON as the row dicts.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from stress_support import Sim, gateway, stopping

from gateway.db import make_engine, make_sessionmaker, upgrade_database
from gateway.market.service import BAR_COLUMNS, TICK_COLUMNS, rows_json, rows_out
from gateway.schemas import with_rows
from gateway.store import trades
from gateway.store.transact import Tx, transact
from gateway.terminal.servertime import TimeBasis


def test_a_locked_sqlite_store_does_not_block_the_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"

    async def scenario() -> tuple[int, list[str]]:
        await upgrade_database(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        blocker = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        def write(tx: Tx) -> None:
            trades.insert_row(
                tx,
                request_id="r-locked",
                user_id="u",
                account_id="a",
                client_id="gwlocked0001",
                request={"action": 1},
            )

        running = asyncio.create_task(ticker())
        writing = asyncio.create_task(transact(sessions, write))
        await asyncio.sleep(0.5)
        ticks_while_locked = ticks
        blocker.execute("COMMIT")
        await writing
        running.cancel()
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT request_id FROM trade_requests"))).all()
        await engine.dispose()
        blocker.close()
        return ticks_while_locked, [r[0] for r in rows]

    ticks, rows = asyncio.run(scenario())
    assert ticks > 5, "the event loop stood still while the store was locked"
    assert rows == ["r-locked"]


@pytest.mark.parametrize(("query", "expected"), [("", 1), ("?synchronous=full", 2)])
def test_sqlite_synchronous_setting(tmp_path: Path, query: str, expected: int) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}{query}"

    async def pragmas() -> tuple[int, int]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            found = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
        ledger = await transact(
            engine, lambda tx: tx._raw.execute("PRAGMA synchronous").fetchone()[0]
        )
        await engine.dispose()
        return int(found), int(ledger)

    assert asyncio.run(pragmas()) == (expected, expected)


def test_an_unknown_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}?synchronous=off")


def test_a_completed_close_replays_though_the_position_is_gone() -> None:
    sim = Sim(terminals=1)
    gw = gateway(sim.ports)
    with stopping(sim, gw), gw.start().client() as api:
        opened = api.post("/trades", json={"symbol": "EURUSD", "order_type": "buy", "volume": 0.01})
        assert opened.status_code == 200, opened.text
        ticket = opened.json()["ticket"]
        key = {"Idempotency-Key": "close-once"}
        first = api.delete(f"/positions/{ticket}", headers=key)
        assert first.status_code == 200, first.text
        again = api.delete(f"/positions/{ticket}", headers=key)
        plain = api.delete(f"/positions/{ticket}")  # without the key: the position is gone
        nothing = {"Idempotency-Key": "close-all-empty"}
        empty = api.post("/positions/close-all", json={"symbol": "GBPUSD"}, headers=nothing)
        empty_again = api.post("/positions/close-all", json={"symbol": "GBPUSD"}, headers=nothing)
    assert plain.status_code == 404, plain.text
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert {k: v for k, v in again.json().items() if k != "replayed"} == first.json()
    assert empty.status_code == 200, empty.text
    assert empty_again.json().get("replayed") is True, empty_again.text


def _world_rates(count: int) -> tuple[Any, Any]:
    from simulator.module import make_module
    from simulator.terminal import SimulatedTerminal
    from simulator.world import World

    mt5 = make_module(SimulatedTerminal(World()))
    mt5.initialize(login=10001, password="demo-10001", server="Sim-Demo")
    return mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_H1, 0, count), mt5


@pytest.mark.parametrize("offset", [7200, None, 0])
@pytest.mark.parametrize("count", [1, 2, 500])
def test_bars_as_json_text_equal_the_row_dicts(offset: int | None, count: int) -> None:
    rates, mt5 = _world_rates(count)
    basis = TimeBasis("Sim-Demo", offset, "configured" if offset is not None else "unknown")
    body = with_rows({"symbol": "EURUSD"}, "data", rows_json(rates, BAR_COLUMNS, basis), {"n": 1})
    assert json.loads(body) == {
        "symbol": "EURUSD",
        "data": rows_out(rates, BAR_COLUMNS, basis),
        "n": 1,
    }
    ticks = mt5.copy_ticks_from("EURUSD", 1_700_000_000, 50, mt5.COPY_TICKS_ALL)
    assert json.loads(b"[" + rows_json(ticks, TICK_COLUMNS, basis) + b"]") == rows_out(
        ticks, TICK_COLUMNS, basis
    )


def test_no_rows_make_an_empty_array() -> None:
    assert json.loads(with_rows({}, "data", b"", {})) == {"data": []}
    assert json.loads(with_rows({"a": 1}, "data", b"", {"b": 2})) == {"a": 1, "data": [], "b": 2}
