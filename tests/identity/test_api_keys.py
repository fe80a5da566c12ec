"""API keys through HTTP and the stream, against a real uvicorn gateway and simulator terminals.

Alice connects accounts A (10002) and B (10003) with her Supabase token, then makes keys: the
secret is shown once, a read key reads and cannot trade, a key for A never reaches B, a key
cannot manage keys, admin scope needs an admin, expiry, IP allow-list, revocation (here and on a
second replica within API_KEY_CACHE_S), last use, the audit trail, and keys on the stream.
The throttle allowance is raised here so that the refusals these tests provoke lock nobody out
(throttling has its own module). These share one SQLite gateway; the key's whole lifecycle, which
stores user input (names, networks, expiry, last use, revocation, audit), also runs on its own
gateway on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from helpers import GatewayServer, JwksServer
from identity_support import (
    ADMIN,
    ALICE,
    client,
    connect_account,
    create_key,
    error_code,
    receive,
    running,
    settings_for,
    stream,
    supabase_token,
)
from server_process import TerminalServerProcess
from websockets.exceptions import ConnectionClosed

POLL_BOUND_S = 30.0  # a safety bound, not an expectation
TRADE = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.01}


@dataclass
class Stack:
    gateway: GatewayServer
    db_url: str
    jwks: JwksServer
    alice: httpx.Client
    a: str  # Alice's 10002
    b: str  # Alice's 10003 (her current account: connected last)

    def key_client(self, key: str, **headers: str) -> httpx.Client:
        return client(self.gateway, key, **headers)


@pytest.fixture(scope="module")
def stack(
    jwks: JwksServer, sims: TerminalServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    db_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('keys') / 'gateway.db'}"
    settings = settings_for(jwks, sims, db_url, login_throttle_free_attempts=1000)
    with running(settings) as gateway, client(gateway, supabase_token(jwks, ALICE)) as alice:
        a = connect_account(alice, 10002)
        b = connect_account(alice, 10003)
        yield Stack(gateway, db_url, jwks, alice, a, b)


def by_key(stack: Stack, key_id: str) -> list[dict[str, Any]]:
    entries = stack.alice.get("/audit", params={"limit": 500}).json()["entries"]
    return [e for e in entries if (e["request"] or {}).get("by_key", {}).get("id") == key_id]


def test_the_key_lifecycle_on_each_store(
    jwks: JwksServer, sims: TerminalServerProcess, any_db_url: str
) -> None:
    settings = settings_for(jwks, sims, any_db_url, login_throttle_free_attempts=1000)
    with running(settings) as gateway, client(gateway, supabase_token(jwks, ALICE)) as alice:
        account = connect_account(alice, 10002)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        created = create_key(
            alice,
            name="nightly bot",
            scopes=["read", "trade"],
            expires_at=later.isoformat(),
            allowed_ips=["127.0.0.1", "10.0.0.0/8"],
        )
        assert created["allowed_ips"] == ["127.0.0.1/32", "10.0.0.0/8"]
        assert datetime.fromisoformat(created["expires_at"]) == later
        elsewhere = create_key(alice, scopes=["read"], allowed_ips=["192.0.2.0/24"])
        soon = create_key(
            alice,
            scopes=["read"],
            expires_at=(datetime.now(UTC) + timedelta(seconds=3)).isoformat(),
        )
        with client(gateway, created["key"]) as bot:
            assert bot.get("/balance").status_code == 200
            trade = bot.post("/trades", params={"account_id": account}, json=TRADE)
            assert trade.status_code == 200, trade.text
            label = bot.put(f"/accounts/{account}", json={"label": "by the bot"})
            assert label.status_code == 200, label.text
        with client(gateway, elsewhere["key"]) as bot:
            assert error_code(bot.get("/me")) == (403, "IP_REFUSED")
        with client(gateway, soon["key"]) as bot:
            give_up = time.monotonic() + POLL_BOUND_S
            while (answer := bot.get("/me")).status_code == 200 and time.monotonic() < give_up:
                time.sleep(0.2)
            assert error_code(answer) == (401, "API_KEY_EXPIRED")

        listed = {k["id"]: k for k in alice.get("/keys").json()["keys"]}
        mine = listed[created["id"]]
        assert (mine["name"], mine["last_used_ip"], mine["active"]) == (
            "nightly bot",
            "127.0.0.1",
            True,
        )
        assert mine["last_used_at"] is not None and mine["allowed_ips"] == created["allowed_ips"]
        assert datetime.fromisoformat(mine["expires_at"]) == later
        assert listed[soon["id"]]["active"] is False

        entries = alice.get("/audit", params={"limit": 500}).json()["entries"]
        tagged = [
            e for e in entries if (e["request"] or {}).get("by_key", {}).get("id") == created["id"]
        ]
        assert len(tagged) == 2 and all(
            e["request"]["by_key"]["prefix"] == created["prefix"] for e in tagged
        )
        call = next(e for e in tagged if e["action"] == "api_key.call")  # the label change
        assert call["request"]["method"] == "PUT" and call["outcome"] == {"status": 200}
        trade_entry = next(e for e in tagged if e["action"] != "api_key.call")
        assert trade_entry["account_id"] == account

        assert alice.delete(f"/keys/{created['id']}").status_code == 200
        with client(gateway, created["key"]) as bot:
            assert error_code(bot.get("/balance")) == (401, "API_KEY_REVOKED")
        gone = {k["id"]: k for k in alice.get("/keys").json()["keys"]}[created["id"]]
        assert gone["revoked_at"] is not None and gone["active"] is False


def test_the_secret_is_shown_once(stack: Stack) -> None:
    created = create_key(stack.alice, name="reporting", scopes=["read"], account_id=stack.a)
    key = created["key"]
    assert key.startswith("mt5gw_") and created["prefix"] == key[:14] and len(key) == 58
    assert created["account_id"] == stack.a and created["scopes"] == ["read"]
    assert created["active"] is True and created["last_used_at"] is None
    listed = {k["id"]: k for k in stack.alice.get("/keys").json()["keys"]}
    assert "key" not in listed[created["id"]] and key not in str(listed)
    assert listed[created["id"]]["prefix"] == created["prefix"]


def test_a_read_key_reads_and_cannot_trade(stack: Stack) -> None:
    key = create_key(stack.alice, scopes=["read"], account_id=stack.a)["key"]
    before = stack.alice.get("/positions", params={"account_id": stack.a}).json()
    with stack.key_client(key) as bot:
        info = bot.get("/account/info")
        assert info.status_code == 200, info.text
        assert info.json()["login"] == 10002  # its account, not Alice's current one (B)
        assert error_code(bot.post("/trades", json=TRADE)) == (403, "SCOPE")
        assert error_code(bot.delete("/positions/1")) == (403, "SCOPE")
        assert bot.post("/trades/check", json=TRADE).status_code == 200  # checking is reading
    with client(stack.gateway, **{"X-API-Key": key}) as header_bot:
        assert header_bot.get("/balance").status_code == 200
    assert stack.alice.get("/positions", params={"account_id": stack.a}).json() == before


def test_a_key_for_account_a_never_reaches_b(stack: Stack) -> None:
    key = create_key(stack.alice, scopes=["read", "trade"], account_id=stack.a)["key"]
    with stack.key_client(key) as bot:
        for answer in (
            bot.get("/account/info", params={"account_id": stack.b}),
            bot.get(f"/accounts/{stack.b}/status"),
            bot.post(f"/accounts/{stack.b}/switch"),
            bot.post("/trades", params={"account_id": stack.b}, json=TRADE),
            bot.get("/events", params={"account_id": stack.b}),
            bot.post("/calculate/margin", json={**TRADE, "account_id": stack.b}),
        ):
            assert error_code(answer) == (404, "ACCOUNT_NOT_FOUND"), answer.text
        assert bot.get(f"/accounts/{stack.a}/status").status_code == 200
        # Routes across all of Alice's accounts are closed to a bound key.
        for answer in (
            bot.get("/accounts"),
            bot.post("/accounts/connect", json={"login": 1, "password": "x", "server": "s"}),
            bot.get("/audit"),
            bot.get("/webhooks"),
        ):
            assert error_code(answer) == (403, "SCOPE"), answer.text
    assert stack.alice.get("/account/info").json()["login"] == 10003  # her current: untouched


def test_a_key_for_account_a_cannot_read_bs_trade_requests(stack: Stack) -> None:
    placed = stack.alice.post("/trades", params={"account_id": stack.b}, json=TRADE)
    assert placed.status_code == 200, placed.text
    request_id = placed.json()["request_id"]
    assert stack.alice.get(f"/trades/requests/{request_id}").status_code == 200
    key = create_key(stack.alice, scopes=["read", "trade"], account_id=stack.a)["key"]
    with stack.key_client(key) as bot:
        answer = bot.get(f"/trades/requests/{request_id}")
        assert error_code(answer) == (404, "TRADE_REQUEST_NOT_FOUND"), answer.text


def test_a_key_cannot_manage_keys(stack: Stack) -> None:
    created = create_key(stack.alice, scopes=["read", "trade", "stream"])
    with stack.key_client(created["key"]) as bot:
        assert error_code(bot.post("/keys", json={"name": "x", "scopes": ["read"]})) == (
            403,
            "SCOPE",
        )
        assert error_code(bot.get("/keys")) == (403, "SCOPE")
        assert error_code(bot.delete(f"/keys/{created['id']}")) == (403, "SCOPE")


def test_a_trade_key_trades_and_every_action_is_audited_with_its_id(stack: Stack) -> None:
    created = create_key(stack.alice, name="trader", scopes=["read", "trade"])
    with stack.key_client(created["key"]) as bot:
        trade = bot.post("/trades", params={"account_id": stack.a}, json=TRADE)
        assert trade.status_code == 200, trade.text
        label = bot.put(f"/accounts/{stack.a}", json={"label": "by the bot"})
        assert label.status_code == 200, label.text
        assert bot.get("/balance").status_code == 200  # a read: not an action
    entries = by_key(stack, created["id"])
    actions = [e["action"] for e in entries]
    assert len(entries) == 2, actions
    trade_entry = next(e for e in entries if e["action"] != "api_key.call")
    assert trade_entry["account_id"] == stack.a
    assert trade_entry["request"]["by_key"] == {"id": created["id"], "prefix": created["prefix"]}
    call = next(e for e in entries if e["action"] == "api_key.call")
    assert call["request"]["route"] == "/api/v1/accounts/{account_id}"
    assert call["request"]["method"] == "PUT" and call["outcome"] == {"status": 200}
    created_entry = stack.alice.get("/audit", params={"action": "api_key.created"}).json()
    assert any(e["request"]["id"] == created["id"] for e in created_entry["entries"])


def test_only_admins_give_the_admin_scope(stack: Stack) -> None:
    refused = stack.alice.post("/keys", json={"name": "x", "scopes": ["read", "admin"]})
    assert error_code(refused) == (403, "FORBIDDEN")
    admin_token = supabase_token(stack.jwks, ADMIN, app_metadata={"role": "admin"})
    with client(stack.gateway, admin_token) as ops:
        admin_key = create_key(ops, scopes=["read", "admin"])["key"]
        read_key = create_key(ops, scopes=["read"])["key"]
    with stack.key_client(admin_key) as bot:
        assert bot.get("/admin/login-throttle").status_code == 200
    with stack.key_client(read_key) as bot:
        assert error_code(bot.get("/admin/login-throttle")) == (403, "SCOPE")
    with stack.key_client(create_key(stack.alice, scopes=["read"])["key"]) as bot:
        assert error_code(bot.get("/admin/pool")) == (403, "SCOPE")


def test_an_expired_key_is_refused(stack: Stack) -> None:
    past = stack.alice.post(
        "/keys", json={"name": "x", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert error_code(past) == (422, "VALIDATION_ERROR")
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    created = create_key(stack.alice, scopes=["read"], expires_at=soon)
    with stack.key_client(created["key"]) as bot:
        assert bot.get("/me").status_code == 200
        deadline = time.monotonic() + POLL_BOUND_S
        while (answer := bot.get("/me")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert error_code(answer) == (401, "API_KEY_EXPIRED")
    listed = {k["id"]: k for k in stack.alice.get("/keys").json()["keys"]}
    assert listed[created["id"]]["active"] is False


def test_the_ip_allow_list(stack: Stack) -> None:
    bad = stack.alice.post("/keys", json={"name": "x", "scopes": ["read"], "allowed_ips": ["x"]})
    assert error_code(bad) == (422, "VALIDATION_ERROR")
    elsewhere = create_key(stack.alice, scopes=["read"], allowed_ips=["10.0.0.0/8"])
    assert elsewhere["allowed_ips"] == ["10.0.0.0/8"]
    here = create_key(stack.alice, scopes=["read"], allowed_ips=["127.0.0.1", "192.0.2.0/24"])
    assert here["allowed_ips"] == ["127.0.0.1/32", "192.0.2.0/24"]
    with stack.key_client(elsewhere["key"]) as bot:  # the client is 127.0.0.1
        assert error_code(bot.get("/me")) == (403, "IP_REFUSED")
    with stack.key_client(here["key"]) as bot:
        assert bot.get("/me").status_code == 200


def test_revocation_takes_effect_on_the_next_request(stack: Stack) -> None:
    created = create_key(stack.alice, scopes=["read"])
    with stack.key_client(created["key"]) as bot:
        assert bot.get("/me").json()["api_key_id"] == created["id"]
        revoked = stack.alice.delete(f"/keys/{created['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert error_code(bot.get("/me")) == (401, "API_KEY_REVOKED")
    assert error_code(stack.alice.delete("/keys/not-a-key")) == (404, "KEY_NOT_FOUND")
    revoked_entries = stack.alice.get("/audit", params={"action": "api_key.revoked"}).json()
    assert any(e["request"]["id"] == created["id"] for e in revoked_entries["entries"])


def test_revocation_reaches_another_replica_within_the_cache_time(
    stack: Stack, jwks: JwksServer, sims: TerminalServerProcess
) -> None:
    created = create_key(stack.alice, scopes=["read"])
    settings = settings_for(
        jwks, sims, stack.db_url, login_throttle_free_attempts=1000, api_key_cache_s=1.0
    )
    with running(settings) as replica, client(replica, created["key"]) as bot:
        assert bot.get("/me").status_code == 200  # cached on the replica now
        assert stack.alice.delete(f"/keys/{created['id']}").status_code == 200
        deadline = time.monotonic() + POLL_BOUND_S
        while (answer := bot.get("/me")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert error_code(answer) == (401, "API_KEY_REVOKED")


def test_last_use_is_listed(stack: Stack) -> None:
    created = create_key(stack.alice, scopes=["read"])
    with stack.key_client(created["key"]) as bot:
        assert bot.get("/me").status_code == 200
    listed = {k["id"]: k for k in stack.alice.get("/keys").json()["keys"]}
    assert listed[created["id"]]["last_used_ip"] == "127.0.0.1"
    assert listed[created["id"]]["last_used_at"] is not None


def test_unknown_and_malformed_keys(stack: Stack) -> None:
    real = create_key(stack.alice, scopes=["read"])["key"]
    forged = real[:15] + ("A" if real[15] != "A" else "B") + real[16:]
    for key in (forged, "mt5gw_short", "mt5gw_abcdefgh_" + "x" * 43):
        with stack.key_client(key) as bot:
            assert bot.get("/me").status_code == 401


def test_a_key_revoked_while_its_stream_is_open_closes_it(stack: Stack) -> None:
    created = create_key(stack.alice, scopes=["read", "stream"], account_id=stack.a)
    with stream(stack.gateway) as ws:
        ws.send(f'{{"type": "auth", "token": "{created["key"]}"}}')
        assert receive(ws)["type"] == "authenticated"
        assert stack.alice.delete(f"/keys/{created['id']}").status_code == 200
        give_up = time.monotonic() + POLL_BOUND_S
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() < give_up:  # heartbeats until the next check of the key
                receive(ws, timeout_s=POLL_BOUND_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def test_keys_on_the_stream(stack: Stack) -> None:
    bound = create_key(stack.alice, scopes=["read", "stream"], account_id=stack.a)
    with stream(stack.gateway) as ws:
        ws.send(f'{{"type": "auth", "token": "{bound["key"]}"}}')
        hello = receive(ws)
        assert hello == {"type": "authenticated", "user_id": ALICE, "expires_at": None}
        ws.send('{"type": "subscribe", "id": 1, "channel": "positions"}')
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot" and snapshot["account_id"] == stack.a, snapshot
        ws.send(
            f'{{"type": "subscribe", "id": 2, "channel": "account", "account_id": "{stack.b}"}}'
        )
        refused = receive(ws)
        assert (refused["type"], refused["code"], refused["id"]) == (
            "error",
            "ACCOUNT_NOT_FOUND",
            2,
        )
    for key, code in ((create_key(stack.alice, scopes=["read"])["key"], 4003), ("mt5gw_x", 4001)):
        with stream(stack.gateway) as ws:
            ws.send(f'{{"type": "auth", "token": "{key}"}}')
            with pytest.raises(ConnectionClosed) as closed:
                receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code
