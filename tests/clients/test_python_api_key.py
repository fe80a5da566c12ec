"""The Python client with a gateway API key (``mt5gw_...``): as ``X-API-Key`` and as a bearer
token, for REST and for the stream. Skipped only while the gateway has no ``/api/v1/keys``."""

from __future__ import annotations

import httpx
import pytest
from client_support import LiveGateway
from mt5gw_client import ApiKey, AsyncClient, Client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def api_key(gateway: LiveGateway) -> str:
    paths = httpx.get(f"{gateway.url}/openapi.json", timeout=30).json()["paths"]
    if "/api/v1/keys" not in paths:
        pytest.skip("this gateway has no API keys yet (/api/v1/keys)")
    response = httpx.post(
        f"{gateway.url}/api/v1/keys",
        json={"name": "client test", "scopes": ["read", "trade", "stream"]},
        headers={"Authorization": f"Bearer {gateway.token()}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    assert key.startswith("mt5gw_")
    return key


@pytest.mark.parametrize("as_bearer", [False, True])
def test_rest_calls_with_an_api_key(gateway: LiveGateway, api_key: str, as_bearer: bool) -> None:
    with Client(gateway.url, ApiKey(api_key, as_bearer=as_bearer)) as mt5:
        assert mt5.account_info().login == 10001
        opened = mt5.place_trade("BTCUSD", "buy", 0.01)
        assert mt5.close_position(opened.ticket).success


async def test_the_stream_with_an_api_key(gateway: LiveGateway, api_key: str) -> None:
    async with AsyncClient(gateway.url, ApiKey(api_key)) as mt5, mt5.stream() as stream:
        await stream.subscribe("account")
        async for message in stream:
            if message["type"] == "account":
                assert message["balance"] > 0
                break
