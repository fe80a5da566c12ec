"""Bars (the forming bar, then the closed one), account figures, conflation of quotes for a
reader that falls behind, and unsubscribing."""

from __future__ import annotations

import asyncio

import pytest
from sim_control import SimControl
from stream_support import Stack, open_peer

pytestmark = pytest.mark.anyio


async def test_bars_forming_then_closed(stack: Stack, control: SimControl) -> None:
    control.advance_time(ms=30_000)  # 12:00:30: the 12:00 bar is forming
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        message = {"type": "subscribe", "id": "b", "channel": "bars", "symbol": "EURUSD"}
        await peer.send(message | {"timeframe": "M1"})
        await peer.next("subscribed")
        forming = await peer.next("bar")
        assert forming["closed"] is False and forming["timeframe"] == "M1"
        opened_at = forming["bar"]["time"]
        assert opened_at == 1_764_072_000
        control.push_price(server="Sim-Demo", symbol="EURUSD", bid=1.2)
        moved = await peer.next("bar", lambda m: m["bar"]["close"] == 1.2)
        assert moved["closed"] is False and moved["bar"]["time"] == opened_at
        assert moved["bar"]["high"] >= 1.2
        control.advance_time(ms=60_000)
        closed = await peer.next("bar", lambda m: m["closed"])
        assert closed["bar"]["time"] == opened_at and closed["bar"]["high"] >= 1.2
        following = await peer.next("bar", lambda m: not m["closed"])
        assert following["bar"]["time"] == opened_at + 60


async def test_account_figures_follow_a_trade(stack: Stack) -> None:
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(
            {"type": "subscribe", "id": "a", "channel": "account", "account_id": account}
        )
        await peer.next("subscribed")
        first = await peer.next("account")
        assert first["margin"] == 0.0 and first["balance"] > 0 and first["currency"] == "USD"
        assert set(first) >= {"equity", "free_margin", "margin_level", "profit", "as_of"}
        async with stack.http() as http:
            body = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.5}
            trade = await http.post("/trades", json=body, params={"account_id": account})
        assert trade.status_code == 200, trade.text
        after = await peer.next("account", lambda m: m["margin"] > 0)
        assert after["free_margin"] < first["free_margin"]


async def test_quotes_conflate_for_a_reader_that_falls_behind(
    stack: Stack, control: SimControl
) -> None:
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(
            {"type": "subscribe", "id": "q", "channel": "quotes", "symbols": ["EURUSD"]}
        )
        await peer.next("subscribed")
        first = await peer.next("quote")
        bids = [round(first["bid"] + 0.0001 * i, 5) for i in range(1, 21)]
        for bid in bids:  # 20 prices, faster than anyone reads them
            control.push_price(server="Sim-Demo", symbol="EURUSD", bid=bid)
        last = await peer.next("quote", lambda m: m["bid"] == bids[-1])
        seen = [m["bid"] for m in peer.log if m.get("type") == "quote"]
        assert seen[-1] == last["bid"]
        assert seen == sorted(seen)  # never an older price after a newer one


async def test_unsubscribe_stops_the_messages(stack: Stack, control: SimControl) -> None:
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send({"type": "subscribe", "id": 7, "channel": "quotes", "symbols": ["GBPUSD"]})
        await peer.next("subscribed")
        quote = await peer.next("quote")
        await peer.send({"type": "unsubscribe", "id": 7})
        assert (await peer.next("unsubscribed"))["id"] == 7
        control.push_price(server="Sim-Demo", symbol="GBPUSD", bid=round(quote["bid"] + 0.01, 5))
        await peer.send({"type": "ping", "time": "marker"})
        await peer.next("pong")
        await asyncio.sleep(0.5)  # several polls later, still nothing
        await peer.send({"type": "ping", "time": "end"})
        await peer.next("pong", lambda m: m["time"] == "end")
        after = peer.log[peer.log.index({"type": "unsubscribed", "id": 7}) :]
        assert not any(m.get("type") == "quote" for m in after)
