"""Events across replicas: a WebSocket client of replica A follows an account that is logged in
on a terminal of replica B; a trade through B reaches it with gap-free ``seq``; then the account
moves to A and the close through A follows, each event stored once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from replica_process import holders, query, wait_for
from replica_support import Cluster, owner_of
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.needs_binary("postgres"), pytest.mark.anyio]

TRADES = ["positions", "orders", "deals"]
WAIT_S = 30.0  # safety bound for each message


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def stream_url(replica: Any) -> str:
    return str(replica.url).replace("http://", "ws://") + "/api/v1/stream"


class Client:
    """A stream client: messages by type (several per frame are split), pings skipped."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.waiting: list[dict[str, Any]] = []

    async def next(self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda m: True):
        async def wait() -> dict[str, Any]:
            while True:
                if not self.waiting:
                    data = json.loads(await self.ws.recv())
                    self.waiting = data if isinstance(data, list) else [data]
                message: dict[str, Any] = self.waiting.pop(0)
                if message.get("type") == kind and where(message):
                    return message

        return await asyncio.wait_for(wait(), WAIT_S)


async def test_events_of_a_trade_through_b_reach_a_client_of_a_in_order(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = c.replica("A")
    b = c.replica("B")
    wait_for(
        lambda: sorted(map(str, holders(c.dsn).values())) == ["A", "A", "B", "B"],
        30,
        "the leases split two and two",
    )
    trader = c.traders[0]
    async with httpx.AsyncClient(headers=trader.headers, timeout=60) as http:
        first = await http.get(b.url + "/api/v1/account/info")  # B logs the account in
        assert first.status_code == 200 and owner_of(first) == "B"
        subscribe = {"type": "subscribe", "account_id": trader.account_id}
        # A client of B first: B's watcher stores the account's state (the view A will load).
        async with connect(stream_url(b), open_timeout=20) as ws:
            client = Client(ws)
            await ws.send(json.dumps({"type": "auth", "token": trader.token}))
            await client.next("authenticated")
            await ws.send(json.dumps({**subscribe, "id": "t", "channel": TRADES}))
            assert (await client.next("snapshot"))["positions"] == []
        async with connect(stream_url(a), open_timeout=20) as ws:
            client = Client(ws)
            await ws.send(json.dumps({"type": "auth", "token": trader.token}))
            await client.next("authenticated")
            await ws.send(json.dumps({**subscribe, "id": "s", "channel": "status"}))
            # A's own watcher finds the account away; B's, started for A's client, is live.
            live = await client.next("status", lambda m: m["state"] == "live")
            assert live["terminal"] in ("t3", "t4")  # B's terminals
            await ws.send(json.dumps({**subscribe, "id": "t", "channel": TRADES}))
            snapshot = await client.next("snapshot")
            start = snapshot["seq"]

            opened = await http.post(
                b.url + "/api/v1/trades",
                json={"symbol": "EURUSD", "order_type": "buy", "volume": 0.1},
            )
            assert opened.status_code == 200 and owner_of(opened) == "B", opened.text
            deal = await client.next("event")
            position = await client.next("event")

            # B stops; the account moves to a terminal of A, whose watcher records from then
            # on, from the view B stored last (not the older one it loaded: nothing twice).
            b.stop()
            wait_for(lambda: set(holders(c.dsn).values()) == {"A"}, 30, "A holding all four")
            moved = await http.get(a.url + "/api/v1/account/info")
            assert moved.status_code == 200 and owner_of(moved) == "A"
            await client.next(
                "status", lambda m: m["state"] == "live" and m["terminal"] != live["terminal"]
            )
            closed = await http.delete(a.url + f"/api/v1/positions/{opened.json()['position']}")
            assert closed.status_code == 200 and owner_of(closed) == "A", closed.text
            out = await client.next("event")
            gone = await client.next("event")

    events = [deal, position, out, gone]
    assert [e["seq"] for e in events] == [start + 1, start + 2, start + 3, start + 4]
    assert [e["event"] for e in events] == [
        "deal.added",
        "position.opened",
        "deal.added",
        "position.closed",
    ]
    assert deal["cause"] == {"by": "gateway", "request_id": opened.json()["request_id"]}
    assert gone["cause"] == {"by": "gateway", "request_id": closed.json()["request_id"]}
    stored = query(
        c.dsn,
        "SELECT seq FROM account_events WHERE account_id = $1 ORDER BY seq",
        trader.account_id,
    )
    assert [r["seq"] for r in stored] == [start + 1, start + 2, start + 3, start + 4]
