"""The Python client's stream helper against a live gateway: resume after a dropped socket with
no gap and no duplicate, renewal on auth_expiring, and a Supabase session refreshed through a
stand-in of Supabase's token endpoint."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from client_support import LiveGateway
from helpers import claims, sign
from mt5gw_client import AsyncClient, StaticToken, SupabaseSession, TokenCallback
from mt5gw_client.stream import Stream
from sim_control import SimControl
from stream_support import TRADER

pytestmark = pytest.mark.anyio
TRADES = ["positions", "orders", "deals"]


async def next_of(stream: Stream, kind: str, timeout: float = 20) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        async for message in stream:
            if message.get("type") == kind:
                return message
        raise AssertionError("stream ended")

    return await asyncio.wait_for(wait(), timeout)


async def test_resume_after_a_dropped_socket_has_no_gap(gateway: LiveGateway) -> None:
    account = gateway.ids.hedging
    async with (
        AsyncClient(gateway.url, StaticToken(gateway.token())) as mt5,
        mt5.stream(backoff_s=0.05) as stream,
    ):
        await stream.subscribe("trades", channels=TRADES, account_id=account)
        start = int((await next_of(stream, "snapshot"))["seq"])
        first = await mt5.place_trade("EURUSD", "buy", 0.1, account_id=account)
        events = [await next_of(stream, "event") for _ in range(2)]
        assert stream.connection is not None
        stream.connection.transport.abort()  # the socket drops, no close frame
        await mt5.close_position(first.ticket, account_id=account)  # while it is away
        second = await mt5.place_trade("EURUSD", "sell", 0.1, account_id=account)
        while len(events) < 6:  # deal+opened, deal+closed, deal+opened
            events.append(await next_of(stream, "event"))
        await mt5.close_position(second.ticket, account_id=account)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(start + 1, start + 7)), seqs
    assert stream.reconnects == 1
    kinds = [e["event"] for e in events if e["channel"] == "positions"]
    assert kinds == ["position.opened", "position.closed", "position.opened"]


async def test_auth_expiring_is_answered_with_a_fresh_token(
    gateway: LiveGateway, control: SimControl
) -> None:
    """A token that expires in 62 s draws auth_expiring at once (60 s warning); the helper
    sends a fresh one from the provider and the server accepts it."""
    minted: list[str] = []

    def token() -> str:
        exp = int(time.time()) + (62 if not minted else 3600)
        minted.append(sign(gateway.jwks.keys[0], claims(gateway.jwks.issuer, sub=TRADER, exp=exp)))
        return minted[-1]

    async with AsyncClient(gateway.url, TokenCallback(token)) as mt5, mt5.stream() as stream:
        await stream.subscribe("quotes", symbols=["EURUSD"])
        for step in range(40):
            if stream.renewals:
                break
            control.push_price(server="Sim-Demo", symbol="EURUSD", bid=1.1 + step / 10_000)
            await next_of(stream, "quote")
    assert stream.renewals == 1 and len(minted) >= 2


class FakeSupabase:
    """Supabase's refresh-token grant, as far as a client sees it: rotates the refresh token
    and mints an access token the gateway accepts."""

    def __init__(self, gateway: LiveGateway, anon_key: str) -> None:
        owner = self
        self.refresh_tokens = ["r-1"]
        self.calls = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ok = (
                    self.path == "/auth/v1/token?grant_type=refresh_token"
                    and self.headers.get("apikey") == anon_key
                    and body.get("refresh_token") == owner.refresh_tokens[-1]
                )
                if not ok:
                    self._answer(400, {"error": "invalid_grant", "error_description": "bad"})
                    return
                owner.refresh_tokens.append(f"r-{len(owner.refresh_tokens) + 1}")
                access = gateway.token()
                self._answer(
                    200,
                    {
                        "access_token": access,
                        "refresh_token": owner.refresh_tokens[-1],
                        "expires_in": 3600,
                        "expires_at": int(time.time()) + 3600,
                        "token_type": "bearer",
                    },
                )

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def supabase(gateway: LiveGateway) -> Iterator[FakeSupabase]:
    fake = FakeSupabase(gateway, "anon-key")
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def test_supabase_session_refreshes_before_expiry(
    gateway: LiveGateway, supabase: FakeSupabase
) -> None:
    from mt5gw_client import Client

    soon = sign(
        gateway.jwks.keys[0],
        claims(gateway.jwks.issuer, sub=TRADER, exp=int(time.time()) + 30),
    )
    stored: list[str] = []
    session = SupabaseSession(
        supabase.url,
        "anon-key",
        access_token=soon,
        refresh_token="r-1",
        on_refresh=lambda s: stored.append(s.refresh_token),
    )
    with Client(gateway.url, session) as mt5:
        assert mt5.account_info().login == 10001
        assert mt5.account_info().login == 10001
    assert supabase.calls == 1 and stored == ["r-2"]
    assert session.session.access_token != soon


def test_supabase_session_refreshes_after_a_401(
    gateway: LiveGateway, supabase: FakeSupabase
) -> None:
    from mt5gw_client import Client

    revoked = "e30.e30.sig"  # no exp to go by: only the gateway's 401 tells
    session = SupabaseSession(supabase.url, "anon-key", access_token=revoked, refresh_token="r-1")
    with Client(gateway.url, session) as mt5:
        assert mt5.account_info().login == 10001
    assert supabase.calls == 1


def test_a_frame_holds_one_message_or_an_array_of_them() -> None:
    from mt5gw_client.stream import frame_messages

    assert frame_messages('{"type": "ping"}') == [{"type": "ping"}]
    batch = '[{"type": "event", "seq": 4}, {"type": "event", "seq": 5}]'
    assert [m["seq"] for m in frame_messages(batch)] == [4, 5]
