"""The README's bot examples, run: a key made with a Supabase session, then used by curl and by
the Python client (``mt5gw_client.ApiKey``), on a real uvicorn gateway and simulator terminals."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from deploy_support import require_binary
from helpers import GatewayServer, JwksServer
from identity_support import ALICE, client, connect_account, create_key, running, settings_for
from identity_support import supabase_token as token_of
from mt5gw_client import ApiKey, Client, errors
from server_process import TerminalServerProcess


@pytest.fixture(scope="module")
def gateway(
    jwks: JwksServer, sims: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayServer]:
    db_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bots') / 'gateway.db'}"
    with running(settings_for(jwks, sims, db_url)) as server:
        yield server


@pytest.fixture(scope="module")
def keys(gateway: GatewayServer, jwks: JwksServer) -> dict[str, str]:
    with client(gateway, token_of(jwks, ALICE)) as alice:
        account = connect_account(alice, 10002)
        trade = create_key(alice, name="bot", scopes=["read", "trade"], account_id=account)
        read = create_key(alice, name="dashboard", scopes=["read"], account_id=account)
    return {"trade": trade["key"], "read": read["key"]}


@pytest.mark.needs_binary("curl")
def test_curl(gateway: GatewayServer, keys: dict[str, str]) -> None:
    curl = require_binary("curl")
    url = f"{gateway.url}/api/v1"
    balance = subprocess.run(
        [curl, "-s", f"{url}/balance", "-H", f"Authorization: Bearer {keys['read']}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(balance.stdout)["balance"] > 0
    order = subprocess.run(
        [curl, "-s", "-X", "POST", f"{url}/trades", "-H", f"X-API-Key: {keys['trade']}",
         "-H", "Content-Type: application/json", "-H", "Idempotency-Key: order-0001",
         "-d", '{"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}'],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(order.stdout)["success"] is True, order.stdout


def test_python_client(gateway: GatewayServer, keys: dict[str, str]) -> None:
    with Client(gateway.url, auth=ApiKey(keys["trade"])) as mt5:
        assert mt5.account_info().login == 10002
        assert mt5.place_trade("EURUSD", "buy", 0.01).success is True
    with Client(gateway.url, auth=ApiKey(keys["read"], as_bearer=True)) as mt5:
        assert mt5.account_info().login == 10002
        with pytest.raises(errors.Forbidden) as refused:
            mt5.place_trade("EURUSD", "buy", 0.01)
        assert refused.value.code == "SCOPE"
