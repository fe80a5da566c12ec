"""The stream through the shipped nginx site over wss: TLS, the WebSocket upgrade under
/api/v1/stream, a REST trade through the same site arriving as events on the socket."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

from deploy_support import require_binary
from nginx_support import running_site
from stream_support import Peer, Stack, request_id_of
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.anyio, pytest.mark.needs_binary("nginx")]


async def test_stream_through_the_nginx_site_over_wss(make_stack: Callable[..., Stack]) -> None:
    nginx, openssl = require_binary("nginx"), require_binary("openssl")
    stack = make_stack()
    account = stack.ids.hedging
    with running_site(nginx, openssl, stack.server.port) as site:
        url = f"wss://localhost:{site.https_port}/api/v1/stream"
        # To 127.0.0.1 itself (nginx listens there only); "localhost" may resolve to ::1 first.
        at = {"host": "127.0.0.1", "port": site.https_port, "server_hostname": "localhost"}
        async with connect(url, ssl=site.tls_context(), open_timeout=30, **at) as ws:
            peer = Peer(ws)
            await peer.auth(stack.token())
            channels = ["positions", "orders", "deals"]
            await peer.send(
                {"type": "subscribe", "id": "t", "channel": channels, "account_id": account}
            )
            start = (await peer.next("snapshot"))["seq"]
            headers = {"Authorization": f"Bearer {stack.token()}"}
            transport = httpx.AsyncHTTPTransport(verify=site.tls_context())
            async with httpx.AsyncClient(
                transport=transport, base_url=f"https://localhost:{site.https_port}", timeout=60
            ) as http:
                body = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1}
                trade = await http.post(
                    "/api/v1/trades", json=body, params={"account_id": account}, headers=headers
                )
            assert trade.status_code == 200, trade.text
            deal, opened = await peer.events(2)
            assert [deal["seq"], opened["seq"]] == [start + 1, start + 2]
            assert opened["cause"] == {"by": "gateway", "request_id": request_id_of(trade.json())}
            await peer.send({"type": "ping", "time": "tls"})
            assert (await peer.next("pong"))["time"] == "tls"
