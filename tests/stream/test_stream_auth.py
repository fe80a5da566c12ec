"""Who may open the stream: the first-message and header token, refusals with 4001, Origin,
token expiry and renewal, and the per-user limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from stream_support import OTHER, Stack, open_peer
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.anyio


async def test_auth_by_first_message_then_subscribe(stack: Stack) -> None:
    async with open_peer(stack) as peer:
        hello = await peer.auth(stack.token())
        assert hello["user_id"] == "trader-1"
        await peer.send(
            {"type": "subscribe", "id": "q", "channel": "quotes", "symbols": ["EURUSD"]}
        )
        subscribed = await peer.next("subscribed")
        assert subscribed["id"] == "q" and subscribed["server"] == "Sim-Demo"
        quote = await peer.next("quote")
        assert quote["symbol"] == "EURUSD" and quote["bid"] > 0 and quote["ask"] >= quote["bid"]
        assert quote["time_basis"] == "utc"


async def test_authorization_header_needs_no_auth_message(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.token()}"}
    async with open_peer(stack, additional_headers=headers) as peer:
        assert (await peer.next("authenticated"))["user_id"] == "trader-1"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param("expired", id="expired"),
        pytest.param("wrong-audience", id="audience"),
    ],
)
async def test_bad_or_expired_token_closes_4001(stack: Stack, token: str) -> None:
    if token == "expired":
        token = stack.token(exp=int(time.time()) - 10, iat=int(time.time()) - 100)
    elif token == "wrong-audience":
        token = stack.token(aud="anon")
    async with open_peer(stack) as peer:
        await peer.send({"type": "auth", "token": token})
        assert await peer.close_code() == 4001
        assert not any(m.get("type") == "authenticated" for m in peer.log)


async def test_no_auth_in_time_or_other_first_message_closes_4001(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(stream_auth_timeout_s=0.5)
    async with open_peer(stack) as peer:
        assert await peer.close_code() == 4001
    async with open_peer(stack) as peer:
        await peer.send({"type": "subscribe", "id": 1, "channel": "quotes", "symbols": ["EURUSD"]})
        assert await peer.close_code() == 4001


async def test_token_in_the_url_is_refused(stack: Stack) -> None:
    async with open_peer(stack, uri_suffix=f"?access_token={stack.token()}") as peer:
        assert await peer.close_code() == 4001
        assert peer.log == []


async def test_foreign_origin_is_refused_allowed_one_accepted(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(cors_origins=["https://app.example.com"])
    with pytest.raises(InvalidStatus) as refused:
        async with open_peer(stack, origin="https://evil.example.net"):
            pass
    assert refused.value.response.status_code == 403
    async with open_peer(stack, origin="https://app.example.com") as peer:
        await peer.auth(stack.token())


async def test_auth_expiring_then_4001_unless_renewed(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(stream_auth_warning_s=2.0)
    now = int(time.time())
    async with open_peer(stack) as peer:
        await peer.auth(stack.token(exp=now + 3))
        warning = await peer.next("auth_expiring")
        assert warning["in_s"] <= 3
        assert await peer.close_code() == 4001
    now = int(time.time())
    async with open_peer(stack) as peer:
        await peer.auth(stack.token(exp=now + 3))
        await peer.next("auth_expiring")
        renewed = await peer.auth(stack.token(exp=now + 3600))
        assert renewed["user_id"] == "trader-1"
        await peer.send({"type": "ping", "time": 1})
        await peer.next("pong", timeout=10)  # still open after the first token's expiry:
        await asyncio.sleep(max(0.0, now + 4 - time.time()))
        await peer.send({"type": "ping", "time": 2})
        assert (await peer.next("pong", timeout=10))["time"] == 2


async def test_renewal_must_keep_the_user(stack: Stack) -> None:
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.send({"type": "auth", "token": stack.token(OTHER)})
        assert await peer.close_code() == 4001


async def test_connection_limit_per_user(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(stream_max_connections_per_user=2)
    async with open_peer(stack) as a, open_peer(stack) as b:
        await a.auth(stack.token())
        await b.auth(stack.token())
        async with open_peer(stack) as c:
            await c.send({"type": "auth", "token": stack.token()})
            assert await c.close_code() == 4029
            assert [m["code"] for m in c.log if m["type"] == "error"] == ["CONNECTION_LIMIT"]
        async with open_peer(stack) as d:  # another user has connections of their own
            await d.auth(stack.token(OTHER))


async def test_symbol_limit_per_user_is_an_error_message(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(stream_max_symbols_per_user=3)
    async with open_peer(stack) as a, open_peer(stack) as b:
        await a.auth(stack.token())
        await b.auth(stack.token())
        two = ["EURUSD", "GBPUSD"]
        await a.send({"type": "subscribe", "id": "x", "channel": "quotes", "symbols": two})
        await a.next("subscribed")
        await b.send(
            {"type": "subscribe", "id": "y", "channel": "quotes", "symbols": ["USDJPY", "AUDUSD"]}
        )
        error = await b.next("error")
        assert error["code"] == "SUBSCRIPTION_LIMIT" and error["id"] == "y"
        await b.send(
            {
                "type": "subscribe",
                "id": "z",
                "channel": "bars",
                "symbols": ["EURUSD", "USDJPY"],
                "timeframe": "M1",
            }
        )
        assert (await b.next("subscribed"))["id"] == "z"  # EURUSD is already counted


async def test_protocol_errors_carry_codes(stack: Stack) -> None:
    async with open_peer(stack) as peer:
        await peer.auth(stack.token())
        await peer.ws.send("not json")
        assert (await peer.next("error"))["code"] == "BAD_MESSAGE"
        await peer.send({"type": "subscribe", "id": "a", "channel": "news"})
        assert (await peer.next("error"))["code"] == "UNKNOWN_CHANNEL"
        await peer.send({"type": "subscribe", "id": "b", "channel": "quotes", "symbols": ["NOPE"]})
        assert (await peer.next("error"))["code"] == "SYMBOL_NOT_FOUND"
        await peer.send(
            {
                "type": "subscribe",
                "id": "c",
                "channel": "positions",
                "account_id": stack.ids.foreign,
            }
        )
        assert (await peer.next("error"))["code"] == "ACCOUNT_NOT_FOUND"
        await peer.send({"type": "unsubscribe", "id": "zzz"})
        assert (await peer.next("error"))["code"] == "UNKNOWN_SUBSCRIPTION"
        await peer.send({"type": "subscribe", "id": "d", "channel": "bars", "symbol": "EURUSD"})
        assert (await peer.next("error"))["code"] == "VALIDATION_ERROR"
