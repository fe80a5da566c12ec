"""One login throttle for API keys and MT5-credential logins (extending issue 8's), on SQLite and
PostgreSQL: failures count per caller address and per target (``apikey:<prefix>``,
``mt5:<login>@<server>``), are audited, lock out with 429 ``LOGIN_THROTTLED`` and Retry-After,
and the lock survives a gateway restart; a locked-out caller's stream is closed with 4029. A
prefix is public, so failures with it lock out the guesser, never the key's owner. A known key
that is revoked or expired is no guess: it is refused with its own code and counts nothing, so
one stale bot does not lock out the address it shares with others."""

from __future__ import annotations

import time
from collections.abc import Iterator
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

FREE = 3
THROTTLE = {
    "login_throttle_free_attempts": FREE,
    "login_throttle_base_s": 3600.0,  # far longer than any test: nothing depends on the clock
    "mt5_login_sessions": True,
}


def wrong_secret(key: str) -> str:
    return key[:15] + ("A" if key[15] != "A" else "B") + key[16:]


def from_address(gateway: GatewayServer, address: str, token: str) -> httpx.Client:
    """A client whose connections come from ``address`` (another loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(
        base_url=f"{gateway.url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        transport=transport,
        timeout=60,
    )


def assert_throttled(answer: httpx.Response) -> None:
    assert error_code(answer) == (429, "LOGIN_THROTTLED"), answer.text
    assert int(answer.headers["retry-after"]) > 0


@pytest.fixture
def start(jwks: JwksServer, sims: TerminalServerProcess, any_db_url: str) -> Iterator[Any]:
    """``start()``: a gateway on the test's store; several in turn share it (a restart)."""
    servers: list[Any] = []

    def run() -> GatewayServer:
        context = running(settings_for(jwks, sims, any_db_url, **THROTTLE))
        server = context.__enter__()
        servers.append(context)
        return server

    yield run
    for context in servers:
        context.__exit__(None, None, None)


def stop(gateway: GatewayServer) -> None:
    gateway.__exit__(None, None, None)


def test_key_failures_lock_the_caller_across_a_restart(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    with client(gateway, supabase_token(jwks, ALICE)) as alice:
        good = create_key(alice, scopes=["read"])
    guesses = [wrong_secret(good["key"])] + [f"mt5gw_aaaaaaa{i}_" + "x" * 43 for i in range(5)]
    statuses = []
    for guess in guesses:
        with client(gateway, guess) as bot:
            statuses.append(bot.get("/me"))
    assert [a.status_code for a in statuses] == [401] * FREE + [429] * (len(guesses) - FREE)
    assert_throttled(statuses[-1])
    with client(gateway, good["key"]) as bot:  # the caller is locked: even a good key waits
        assert_throttled(bot.get("/me"))
    with stream(gateway) as ws:  # and on the stream: closed with 4029
        ws.send(f'{{"type": "auth", "token": "{good["key"]}"}}')
        with pytest.raises(ConnectionClosed) as closed:
            receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029
    with client(gateway, supabase_token(jwks, ALICE)) as alice:  # not a credential path
        assert alice.get("/me").status_code == 200

    admin_token = supabase_token(jwks, ADMIN, app_metadata={"role": "admin"})
    with client(gateway, admin_token) as ops:
        counted = {e["key"]: e for e in ops.get("/admin/login-throttle").json()["entries"]}
        audit = ops.get("/audit", params={"action": "login.failed"}).json()["entries"]
    assert counted["ip:127.0.0.1"]["failures"] == FREE
    assert counted["ip:127.0.0.1"]["retry_after_s"] > 0  # locked
    assert counted[f"apikey:{good['prefix']}"]["failures"] == 1  # one guess with its prefix
    assert len(audit) == FREE and all(e["request"]["via"] == "api-key" for e in audit)
    assert f"apikey:{good['prefix']}" in [t for e in audit for t in e["request"]["targets"]]
    assert good["key"] not in str(audit)

    stop(gateway)
    again = start()  # the same store: the lock is still there
    with client(again, good["key"]) as bot:
        assert_throttled(bot.get("/me"))
    with client(again, guesses[0]) as bot:
        assert_throttled(bot.get("/me"))


def test_a_public_prefix_cannot_lock_out_its_owner(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    with client(gateway, supabase_token(jwks, ALICE)) as alice:
        victim = create_key(alice, scopes=["read"])
    guess = wrong_secret(victim["key"])
    with from_address(gateway, "127.0.0.2", guess) as attacker:
        answers = [attacker.get("/me").status_code for _ in range(FREE + 2)]
    assert answers == [401] * FREE + [429] * 2
    with from_address(gateway, "127.0.0.2", victim["key"]) as thief:
        assert_throttled(thief.get("/me"))  # the guessing address is locked out
    with client(gateway, victim["key"]) as owner:
        assert owner.get("/me").status_code == 200  # its owner, elsewhere, is not


def test_mt5_logins_are_throttled_across_a_restart(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    body = {"login": 10003, "server": "Sim-Demo"}
    with client(gateway) as anonymous:
        wrong = [
            anonymous.post("/login", json={**body, "password": f"wrong-{i}"}) for i in range(FREE)
        ]
        assert [error_code(a) for a in wrong] == [(400, "MT5_AUTH_FAILED")] * FREE
        assert_throttled(anonymous.post("/login", json={**body, "password": "demo-10003"}))
    with client(gateway, supabase_token(jwks, ALICE)) as alice:  # the login itself is locked
        assert_throttled(alice.post("/accounts/connect", json={**body, "password": "demo-10003"}))
        connect_account(alice, 10002)  # another login still works
    stop(gateway)
    again = start()
    with client(again) as anonymous:
        assert_throttled(anonymous.post("/login", json={**body, "password": "demo-10003"}))


def test_stale_keys_do_not_lock_out_their_address(jwks: JwksServer, start: Any) -> None:
    gateway = start()
    with client(gateway, supabase_token(jwks, ALICE)) as alice:
        revoked = create_key(alice, scopes=["read"])
        assert alice.delete(f"/keys/{revoked['id']}").status_code == 200
        good = create_key(alice, scopes=["read"])
        soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        expiring = create_key(alice, scopes=["read"], expires_at=soon)
    with client(gateway, revoked["key"]) as old_bot:
        answers = [error_code(old_bot.get("/me")) for _ in range(FREE + 2)]
    assert answers == [(401, "API_KEY_REVOKED")] * (FREE + 2)
    with client(gateway, expiring["key"]) as old_bot:
        give_up = time.monotonic() + 30.0  # a safety bound, not an expectation
        while (answer := old_bot.get("/me")).status_code == 200 and time.monotonic() < give_up:
            time.sleep(0.2)
        answers = [error_code(answer)] + [error_code(old_bot.get("/me")) for _ in range(FREE + 1)]
    assert answers == [(401, "API_KEY_EXPIRED")] * (FREE + 2)

    with client(gateway, good["key"]) as bot:  # the same address: not locked out
        assert bot.get("/me").status_code == 200
    admin_token = supabase_token(jwks, ADMIN, app_metadata={"role": "admin"})
    with client(gateway, admin_token) as ops:
        counted = {e["key"] for e in ops.get("/admin/login-throttle").json()["entries"]}
    assert "ip:127.0.0.1" not in counted
    with client(gateway, supabase_token(jwks, ALICE)) as alice:  # the owner sees the stale use
        refused = alice.get("/audit", params={"action": "api_key.refused"}).json()["entries"]
    reasons = {(e["request"]["id"], e["outcome"]["reason"]) for e in refused}
    assert reasons == {(revoked["id"], "revoked key"), (expiring["id"], "expired key")}
    assert len(refused) == 2  # once a minute per key and reason, not once per request
