"""Account events on the stream: snapshot then differences, causes, exact resume (after a
disconnect and after a gateway restart), the events API, and a time-shared account's absence
reconciled in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sim_control import SimControl
from stream_support import Stack, open_peer, request_id_of, seqs

pytestmark = pytest.mark.anyio

TRADES = ["positions", "orders", "deals"]


async def _trade(stack: Stack, account: str, **body: Any) -> dict[str, Any]:
    payload = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, **body}
    async with stack.http() as http:
        response = await http.post("/trades", json=payload, params={"account_id": account})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["success"], result
    return result


async def _close(stack: Stack, account: str, ticket: int) -> dict[str, Any]:
    async with stack.http() as http:
        response = await http.delete(f"/positions/{ticket}", params={"account_id": account})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _subscribe(ref: str, account: str, after: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "subscribe", "id": ref, "channel": TRADES}
    message["account_id"] = account
    if after is not None:
        message["after"] = after
    return message


async def test_snapshot_then_a_rest_trade_as_deal_and_position_events(stack: Stack) -> None:
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        snap = await peer.next("snapshot")
        assert snap["id"] == "t" and snap["account_id"] == account and snap["resync"] is False
        assert snap["positions"] == [] and snap["orders"] == []
        start = snap["seq"]

        result = await _trade(stack, account)
        request_id = request_id_of(result)
        deal, opened = await peer.events(2)
        assert seqs([deal, opened]) == [start + 1, start + 2]
        assert (deal["event"], opened["event"]) == ("deal.added", "position.opened")
        assert deal["cause"] == opened["cause"] == {"by": "gateway", "request_id": request_id}
        assert deal["data"]["deal"]["ticket"] == result["deal"]
        assert opened["data"]["ticket"] == result["position"]
        assert opened["data"]["position"]["volume"] == 0.1
        assert deal["reconciled"] is opened["reconciled"] is False

        closed = await _close(stack, account, result["position"])
        out, gone = await peer.events(2)
        assert (out["event"], gone["event"]) == ("deal.added", "position.closed")
        assert gone["cause"] == {"by": "gateway", "request_id": request_id_of(closed)}
        assert seqs([out, gone]) == [start + 3, start + 4]


async def test_sl_hit_by_a_pushed_price_has_cause_sl(stack: Stack, control: SimControl) -> None:
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        start = (await peer.next("snapshot"))["seq"]
        result = await _trade(stack, account)
        price = result["price"]
        # The stream reports what each poll sees: a change made before the next poll of the
        # account would arrive folded into "opened". So the SL is moved once "opened" is here.
        opened = await peer.events(2)  # deal, opened
        async with stack.http() as http:
            moved = await http.patch(
                f"/positions/{result['position']}",
                json={"stop_loss": round(price - 0.0050, 5)},
                params={"account_id": account},
            )
        assert moved.status_code == 200, moved.text
        events = [*opened, *await peer.events(1)]  # modified (sl)
        modified = events[2]
        assert modified["event"] == "position.modified"
        assert modified["data"]["changes"]["sl"] == [0.0, round(price - 0.0050, 5)]
        assert modified["cause"] == {"by": "gateway", "request_id": request_id_of(moved.json())}

        control.push_price(server="Sim-Demo", symbol="EURUSD", bid=round(price - 0.0100, 5))
        deal, hit = await peer.events(2)
        assert deal["event"] == "deal.added" and deal["data"]["deal"]["reason"] == "sl"
        assert hit["event"] == "position.sl_hit" and hit["data"]["ticket"] == result["position"]
        assert deal["cause"] == hit["cause"] == {"by": "broker", "reason": "sl"}
        assert seqs([*events, deal, hit]) == list(range(start + 1, start + 6))


async def test_another_client_of_the_account_is_named_as_the_cause(
    stack: Stack, other_client: Callable[..., Any]
) -> None:
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        await peer.next("snapshot")
        tick = other_client("symbol_info_tick", "EURUSD")
        answer = other_client("order_send", _market_buy(tick["ask"], comment="desktop"))
        assert answer["retcode"] == 10009, answer
        deal, opened = await peer.events(2)
        assert opened["event"] == "position.opened"
        assert deal["cause"] == opened["cause"] == {"by": "client", "reason": "expert"}


def _market_buy(price: float, comment: str = "", volume: float = 0.1) -> dict[str, Any]:
    return {
        "action": 1,
        "symbol": "EURUSD",
        "volume": volume,
        "type": 0,
        "price": price,
        "deviation": 20,
        "type_filling": 1,
        "type_time": 0,
        "comment": comment,
    }


async def test_resume_after_disconnect_has_no_gap_and_no_duplicate(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(stream_watch_linger_s=60.0)  # the account stays watched meanwhile
    account = stack.ids.hedging
    seen: list[dict[str, Any]] = []
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        start = (await peer.next("snapshot"))["seq"]
        first = await _trade(stack, account)
        seen += await peer.events(2)
    # Disconnected: two more trades and a close happen meanwhile.
    second = await _trade(stack, account, order_type="sell")
    await _close(stack, account, first["position"])
    await _wait_seq(stack, account, start + 6)
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account, after=seen[-1]["seq"]))
        assert (await peer.next("subscribed"))["after"] == seen[-1]["seq"]
        seen += await peer.events(4)  # deal+opened (second), deal+closed (first): replayed
        await _close(stack, account, second["position"])
        seen += await peer.events(2)  # ... then live again
    assert seqs(seen) == list(range(start + 1, start + 9))
    assert len({e["id"] for e in seen}) == len(seen)


async def _wait_seq(stack: Stack, account: str, seq: int) -> list[dict[str, Any]]:
    """Poll the events API until ``seq`` is stored; every event so far."""
    async with stack.http() as http:
        for _ in range(200):
            page = (await http.get("/events", params={"account_id": account})).json()
            if page["seq"] >= seq:
                events: list[dict[str, Any]] = page["events"]
                return events
            await asyncio.sleep(0.1)
    raise AssertionError(f"seq {seq} not reached")


async def test_resume_across_a_gateway_restart(
    make_stack: Callable[..., Stack], other_client: Callable[..., Any]
) -> None:
    stack = make_stack()
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        start = (await peer.next("snapshot"))["seq"]
        await _trade(stack, account)
        before = await peer.events(2)
        stack.server.__exit__(None, None, None)  # the gateway stops; the client is dropped
        await peer.close_code()
    # While the gateway is down, another client trades on the account.
    tick = other_client("symbol_info_tick", "EURUSD")
    assert other_client("order_send", _market_buy(tick["ask"]))["retcode"] == 10009
    restarted = await asyncio.to_thread(make_stack, reuse=stack)
    async with open_peer(restarted) as peer:
        await peer.auth(restarted.token())
        await peer.send(_subscribe("t", account, after=before[-1]["seq"]))
        await peer.next("subscribed")
        missed = await peer.events(2)
        assert [e["event"] for e in missed] == ["deal.added", "position.opened"]
        assert all(e["reconciled"] for e in missed)
        assert missed[0]["cause"] == {"by": "client", "reason": "expert"}
        await _trade(restarted, account, order_type="sell")
        after = await peer.events(2)
        assert not any(e["reconciled"] for e in after)
    assert seqs(before + missed + after) == list(range(start + 1, start + 7))


async def test_events_api_pages_the_same_events(stack: Stack) -> None:
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account, after=0))
        await peer.next("subscribed")
        first = await _trade(stack, account)
        await _close(stack, account, first["position"])
        streamed = await peer.events(4)
    async with stack.http() as http:
        one = (await http.get("/events", params={"account_id": account, "limit": 3})).json()
        assert one["has_more"] is True and len(one["events"]) == 3 and one["resync"] is False
        two = await http.get(
            "/events", params={"account_id": account, "after": one["next_after"], "limit": 3}
        )
        rest = two.json()
        assert rest["has_more"] is False
        assert one["events"] + rest["events"] == streamed
        deals = await http.get("/events", params={"account_id": account, "channel": "deals"})
        assert [e["event"] for e in deals.json()["events"]] == ["deal.added", "deal.added"]
        beyond = (await http.get("/events", params={"account_id": account, "after": 99})).json()
        assert beyond["resync"] is True and beyond["events"] == []
        foreign = await http.get("/events", params={"account_id": stack.ids.foreign})
        assert foreign.status_code == 404 and foreign.json()["code"] == "ACCOUNT_NOT_FOUND"


async def test_resume_beyond_retention_resyncs_with_a_snapshot(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(stream_event_retention_s=1.0)
    account = stack.ids.hedging
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account))
        await peer.next("snapshot")
        await _trade(stack, account)
        await peer.events(2)
    async with stack.http() as http:  # pruned (past the 1 s retention) within two seconds or so
        for _ in range(100):
            if (await http.get("/events", params={"account_id": account})).json()["resync"]:
                break
            await asyncio.sleep(0.1)
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(_subscribe("t", account, after=0))
        snap = await peer.next("snapshot")
        assert snap["resync"] is True and snap["seq"] >= 2 and len(snap["positions"]) == 1


async def test_time_shared_account_reconciled_in_order_on_return(
    stack: Stack, other_client: Callable[..., Any]
) -> None:
    hedging, netting = stack.ids.hedging, stack.ids.netting
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(
            {"type": "subscribe", "id": "s", "channel": "status", "account_id": hedging}
        )
        await peer.next("status", lambda m: m["state"] == "live")
        await peer.send(_subscribe("t", hedging))
        start = (await peer.next("snapshot"))["seq"]

        async with stack.http() as http:  # the only terminal switches to the other account
            assert (await http.get("/positions", params={"account_id": netting})).status_code == 200
        away = await peer.next("status", lambda m: m["state"] == "away")
        assert away["resident"] is False and away["as_of"] is not None

        tick = other_client("symbol_info_tick", "EURUSD")  # meanwhile, on another terminal:
        opened = other_client("order_send", _market_buy(tick["ask"], volume=0.3))
        assert opened["retcode"] == 10009, opened
        position = other_client("positions_get")[0]["ticket"]
        close = _market_buy(tick["bid"], volume=0.1) | {"type": 1, "position": position}
        assert other_client("order_send", close)["retcode"] == 10009
        assert other_client("order_send", close | {"volume": 0.2})["retcode"] == 10009

        async with stack.http() as http:  # a request brings the account back
            assert (await http.get("/positions", params={"account_id": hedging})).status_code == 200
        missed = await peer.events(6)
        await peer.next("status", lambda m: m["state"] == "live")
    assert [e["event"] for e in missed] == [
        "deal.added",
        "position.opened",
        "deal.added",
        "position.partially_closed",
        "deal.added",
        "position.closed",
    ]
    assert all(e["reconciled"] for e in missed)
    assert seqs(missed) == list(range(start + 1, start + 7))
    deals = [e["data"]["deal"]["ticket"] for e in missed if e["event"] == "deal.added"]
    assert deals == sorted(deals)
    assert {str(e["cause"]) for e in missed} == {str({"by": "client", "reason": "expert"})}


async def test_away_account_is_visited_when_the_pool_is_idle(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(stream_away_poll_s=0.5)
    netting = stack.ids.netting  # the only terminal is on the hedging account
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send(
            {"type": "subscribe", "id": "s", "channel": "status", "account_id": netting}
        )
        await peer.next("status", lambda m: m["state"] == "away")
        live = await peer.next("status", lambda m: m["state"] == "live")
        assert live["resident"] is True and live["terminal"] == "t1"
        await peer.send(_subscribe("t", netting))
        snap = await peer.next("snapshot")
        assert snap["positions"] == [] and snap["as_of"] is not None
