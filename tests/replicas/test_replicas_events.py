"""Events across replicas: a WebSocket client of replica A follows an account that is logged in
on a terminal of replica B; a trade through B reaches it with gap-free ``seq``, stored once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Cluster, owner_of
from replica_process import holders, query, wait_for
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.needs_binary("postgres"), pytest.mark.anyio]

TRADES = ["positions", "orders", "deals"]
WAIT_S = 30.0  # safety bound for each message


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
        ws_url = a.url.replace("http://", "ws://") + "/api/v1/stream"
        async with connect(ws_url, open_timeout=20) as ws:
            client = Client(ws)
            await ws.send(json.dumps({"type": "auth", "token": trader.token}))
            await client.next("authenticated")
            subscribe = {"type": "subscribe", "account_id": trader.account_id}
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
            closed = await http.delete(b.url + f"/api/v1/positions/{opened.json()['position']}")
            assert closed.status_code == 200 and owner_of(closed) == "B", closed.text
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
