"""The login throttle through HTTP, on SQLite and PostgreSQL, against two real simulator terminals.

Issue 8 item 6: 100 wrong guesses at another user's MT5 password took 0.2 s, each forced an
account switch, and the right one then answered 200. Now, after the free attempts, every
credential-proving endpoint answers 429 ``LOGIN_THROTTLED`` with ``Retry-After`` before any
terminal work (the pool's switch count does not move), the correct password included; the count
survives a restart; failures are audited; admins list and clear lockouts.

A login's count must not become a way to lock its owner out: a user who has proven the login
before (a stored account of theirs that has connected) is stopped only by their own count, and
reconnect (the stored password: no guess) only by the caller's count. Strangers still meet the
login's lock, so guessing one login from many accounts is still slowed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from accounts_support import KEYRING, settings_for
from helpers import GatewayServer, JwksServer, claims, sign
from server_process import TerminalServerProcess

from gateway.db import make_engine, make_sessionmaker, session_scope
from gateway.main import create_app
from gateway.store import accounts as store
from gateway.store.crypto import Keyring
from gateway.store.models import Mt5Account

FREE = 3
# The lock lasts far longer than any test runs: nothing here depends on the clock.
THROTTLE = {"login_throttle_free_attempts": FREE, "login_throttle_base_s": 3600.0}
VICTIM = {"login": 10002, "server": "Sim-Demo"}
RIGHT, WRONG = "demo-10002", "not-the-password"
ADMIN = "adadadad-0000-4000-8000-00000000000b"


def client(jwks: JwksServer, gateway: GatewayServer, sub: str, **extra: Any) -> httpx.Client:
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=sub, **extra))
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=gateway.url, headers=headers, timeout=60)


def admin(jwks: JwksServer, gateway: GatewayServer) -> httpx.Client:
    return client(jwks, gateway, ADMIN, app_metadata={"role": "admin"})


def switches(jwks: JwksServer, gateway: GatewayServer) -> int:
    with admin(jwks, gateway) as http:
        response = http.get("/api/v1/admin/pool")
    assert response.status_code == 200, response.text
    count: int = response.json()["pool"]["switches"]
    return count


def guess(http: httpx.Client, password: str, **target: Any) -> httpx.Response:
    body = {**VICTIM, **target, "password": password}
    return http.post("/api/v1/accounts/test-connection", json=body)


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "LOGIN_THROTTLED"
    assert int(response.headers["retry-after"]) > 0


@pytest.fixture
def start(jwks: JwksServer, sims: TerminalServerProcess, backend: Any) -> Iterator[Any]:
    """``start(db_url=None)``: a gateway with a short allowance on a fresh (or given) store."""
    servers: list[GatewayServer] = []

    def run(db_url: str | None = None) -> tuple[GatewayServer, str]:
        url = db_url or backend.empty()
        settings = settings_for(jwks, sims, url, **THROTTLE)
        server = GatewayServer(create_app(settings)).__enter__()
        servers.append(server)
        return server, url

    yield run
    for server in servers:
        server.__exit__(None, None, None)


def test_a_hundred_guesses_reach_the_terminal_only_free_times(jwks: JwksServer, start: Any) -> None:
    gateway, _ = start()
    attacker = client(jwks, gateway, str(uuid.uuid4()))
    before = switches(jwks, gateway)
    statuses = [guess(attacker, f"{WRONG}-{i}").status_code for i in range(100)]
    assert statuses[:FREE] == [400] * FREE  # MT5 refused these: each cost a login
    assert statuses[FREE:] == [429] * (100 - FREE)
    assert switches(jwks, gateway) == before + FREE
    assert_throttled(guess(attacker, RIGHT))  # the right password too, without a switch
    assert switches(jwks, gateway) == before + FREE

    # The target is locked for every stranger to it (here one who never stored this login), and
    # so is the attacker elsewhere.
    stranger = client(jwks, gateway, str(uuid.uuid4()))
    connect = {**VICTIM, "password": RIGHT}
    assert_throttled(stranger.post("/api/v1/accounts/connect", json=connect))
    assert_throttled(guess(attacker, "demo-10003", login=10003))
    assert switches(jwks, gateway) == before + FREE

    audit = attacker.get("/api/v1/audit", params={"action": "login.failed"}).json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    assert len(entries) == FREE
    assert entries[0]["request"]["targets"] == ["mt5:10002@sim-demo"]
    assert entries[0]["outcome"]["reason"] == "MT5_AUTH_FAILED"
    assert RIGHT not in str(audit) and WRONG not in str(audit)


def test_every_credential_path_is_throttled(jwks: JwksServer, start: Any) -> None:
    gateway, _ = start()
    user = client(jwks, gateway, str(uuid.uuid4()))
    stored = user.post("/api/v1/accounts/connect", json={**VICTIM, "password": RIGHT})
    assert stored.status_code == 201, stored.text
    account_id = stored.json()["id"]
    for i in range(FREE):  # wrong new passwords through update
        update = user.put(f"/api/v1/accounts/{account_id}", json={"password": f"{WRONG}{i}"})
        assert update.status_code == 400, update.text
    # The caller is locked out of every path (reconnect too: the caller's count still applies to
    # terminal work). The login itself is not: its owner's own failures never counted on it.
    before = switches(jwks, gateway)
    assert_throttled(user.put(f"/api/v1/accounts/{account_id}", json={"password": RIGHT}))
    assert_throttled(user.post(f"/api/v1/accounts/{account_id}/reconnect"))
    assert_throttled(user.post("/api/v1/accounts/connect", json={**VICTIM, "password": RIGHT}))
    assert_throttled(guess(user, RIGHT))
    assert switches(jwks, gateway) == before
    # Reading and using the stored account is not credential proving: it still works.
    assert user.get("/api/v1/balance").status_code == 200
    assert user.put(f"/api/v1/accounts/{account_id}", json={"label": "x"}).status_code == 200
    with client(jwks, gateway, str(uuid.uuid4())) as other:
        assert guess(other, RIGHT).status_code == 200


def test_admins_list_and_clear_lockouts(jwks: JwksServer, start: Any) -> None:
    gateway, _ = start()
    sub = str(uuid.uuid4())
    user = client(jwks, gateway, sub)
    for i in range(FREE):
        assert guess(user, f"{WRONG}{i}").status_code == 400
    assert_throttled(guess(user, RIGHT))

    refused = user.get("/api/v1/admin/login-throttle")
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert user.delete("/api/v1/admin/login-throttle").status_code == 403

    with admin(jwks, gateway) as ops:
        listed = ops.get("/api/v1/admin/login-throttle", params={"locked_only": True}).json()
        locked = {e["key"]: e for e in listed["entries"]}
        assert set(locked) == {f"user:{sub}", "mt5:10002@sim-demo"}
        assert all(e["failures"] == FREE and e["retry_after_s"] > 0 for e in locked.values())
        for key in locked:
            cleared = ops.delete("/api/v1/admin/login-throttle", params={"key": key})
            assert cleared.json() == {"cleared": 1}
    answer = guess(user, RIGHT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["account_info"]["login"] == 10002


def test_the_count_survives_a_restart(jwks: JwksServer, start: Any) -> None:
    first, db_url = start()
    sub = str(uuid.uuid4())
    with client(jwks, first, sub) as user:
        for i in range(FREE):
            assert guess(user, f"{WRONG}{i}").status_code == 400
    first.__exit__(None, None, None)

    second, _ = start(db_url)  # a new process would see the same store: so does this one
    before = switches(jwks, second)
    with client(jwks, second, sub) as user:
        assert_throttled(guess(user, RIGHT))
    with client(jwks, second, str(uuid.uuid4())) as other:  # the target, for anyone
        assert_throttled(guess(other, RIGHT))
    assert switches(jwks, second) == before


def locked_keys(jwks: JwksServer, gateway: GatewayServer) -> dict[str, int]:
    """Every counted throttle key and its failures."""
    with admin(jwks, gateway) as ops:
        listed = ops.get("/api/v1/admin/login-throttle").json()["entries"]
    return {e["key"]: e["failures"] for e in listed}


def test_a_strangers_failures_do_not_lock_the_owner_out(jwks: JwksServer, start: Any) -> None:
    gateway, _ = start()
    owner = client(jwks, gateway, str(uuid.uuid4()))
    stored = owner.post("/api/v1/accounts/connect", json={**VICTIM, "password": RIGHT})
    assert stored.status_code == 201, stored.text
    account_id = stored.json()["id"]

    stranger = client(jwks, gateway, str(uuid.uuid4()))
    assert [guess(stranger, f"{WRONG}{i}").status_code for i in range(FREE)] == [400] * FREE
    assert_throttled(guess(stranger, RIGHT))
    accomplice = client(jwks, gateway, str(uuid.uuid4()))  # another stranger: the login's lock
    assert_throttled(guess(accomplice, RIGHT))

    # The owner has proven this login before: the strangers' lock does not stop them.
    assert guess(owner, RIGHT).status_code == 200
    connect = {**VICTIM, "password": RIGHT}
    assert owner.post("/api/v1/accounts/connect", json=connect).status_code == 201
    update = owner.put(f"/api/v1/accounts/{account_id}", json={"password": RIGHT})
    assert update.status_code == 200, update.text
    reconnect = owner.post(f"/api/v1/accounts/{account_id}/reconnect")
    assert reconnect.status_code == 200, reconnect.text
    assert guess(owner, WRONG).status_code == 400  # counted on the owner alone

    # ... nor does their success lift it for strangers, whose guesses stay slowed.
    assert_throttled(guess(accomplice, RIGHT))
    assert locked_keys(jwks, gateway)["mt5:10002@sim-demo"] == FREE


def _store_wrong_password(db_url: str, account_id: str) -> None:
    """The broker password changed behind the gateway's back (and the account never connected:
    ``last_seen_at`` empty, so its user has not proven the login)."""

    async def change() -> None:
        engine = make_engine(db_url)
        try:
            async with session_scope(make_sessionmaker(engine)) as session:
                row = await session.get(Mt5Account, account_id)
                assert row is not None
                await store.update(session, Keyring.parse(KEYRING), row, password=WRONG)
                row.last_seen_at = None
        finally:
            await engine.dispose()

    asyncio.run(change())


def test_reconnect_is_not_a_guess(jwks: JwksServer, start: Any) -> None:
    gateway, db_url = start()
    sub = str(uuid.uuid4())
    user = client(jwks, gateway, sub)
    stored = user.post("/api/v1/accounts/connect", json={**VICTIM, "password": RIGHT})
    assert stored.status_code == 201, stored.text
    account_id = stored.json()["id"]
    _store_wrong_password(db_url, account_id)

    for _ in range(FREE):  # the stored password fails: counted on the caller only
        failed = user.post(f"/api/v1/accounts/{account_id}/reconnect")
        assert (failed.status_code, failed.json()["code"]) == (400, "MT5_AUTH_FAILED")
    assert_throttled(user.post(f"/api/v1/accounts/{account_id}/reconnect"))
    assert "mt5:10002@sim-demo" not in locked_keys(jwks, gateway)
    with client(jwks, gateway, str(uuid.uuid4())) as other:  # the login is not locked
        assert guess(other, RIGHT).status_code == 200

    # Reconnect is not stopped by the login's lock either, only by the caller's.
    with client(jwks, gateway, str(uuid.uuid4())) as stranger:
        for i in range(FREE):
            assert guess(stranger, f"{WRONG}{i}").status_code == 400
    with admin(jwks, gateway) as ops:
        cleared = ops.delete("/api/v1/admin/login-throttle", params={"key": f"user:{sub}"})
        assert cleared.json() == {"cleared": 1}
    failed = user.post(f"/api/v1/accounts/{account_id}/reconnect")
    assert (failed.status_code, failed.json()["code"]) == (400, "MT5_AUTH_FAILED")
