"""The account lifecycle through HTTP, on SQLite and PostgreSQL (migrated from empty at startup),
against two real simulator terminals."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from accounts_support import UserClient

DEMO = {"login": 10001, "password": "demo-10001", "server": "Sim-Demo"}
EUR = {"login": 10002, "password": "demo-10002", "server": "Sim-Demo"}


def new_user() -> str:
    return str(uuid.uuid4())


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_full_lifecycle(as_user: UserClient) -> None:
    client = as_user(new_user())
    error(client.get("/api/v1/account/info"), 404, "NO_ACCOUNT")
    assert ok(client.get("/api/v1/accounts")) == {"accounts": [], "current_id": None}

    first = ok(client.post("/api/v1/accounts/connect", json={**DEMO, "label": "main"}), 201)
    assert first["login"] == 10001 and first["label"] == "main"
    assert first["is_default"] and first["is_current"] and first["status"] == "connected"
    assert first["account_info"]["balance"] == 10000.0 and first["account_info"]["trade_allowed"]
    assert ok(client.get("/api/v1/account/info"))["login"] == 10001

    limits = {"max_volume_per_order": 1.0, "allowed_symbols": ["EURUSD"]}
    second = ok(
        client.post(
            "/api/v1/accounts/connect",
            json={
                "mt5Login": 10002,
                "mt5Password": "demo-10002",
                "mt5Server": "Sim-Demo",
                "risk_limits": limits,
            },
        ),
        201,
    )
    assert not second["is_default"] and second["is_current"]
    assert second["risk_limits"]["max_volume_per_order"] == 1.0
    listed = ok(client.get("/api/v1/accounts"))
    assert [a["login"] for a in listed["accounts"]] == [10001, 10002]
    assert listed["current_id"] == second["id"]

    # current account and explicit ?account_id=
    assert ok(client.get("/api/v1/account/info"))["currency"] == "EUR"
    info = ok(client.get("/api/v1/account/info", params={"account_id": first["id"]}))
    assert info["login"] == 10001
    assert ok(client.get("/api/v1/accounts/current"))["id"] == second["id"]

    switched = ok(client.post(f"/api/v1/accounts/{first['id']}/switch"))
    assert switched["is_current"] and switched["account_info"]["login"] == 10001
    assert ok(client.get("/api/v1/balance"))["login"] == 10001
    assert ok(client.get("/api/v1/symbols", params={"account_id": second["id"]}))["symbols"]

    # update: label, default, limits; a new password is verified first
    updated = ok(
        client.put(
            f"/api/v1/accounts/{second['id']}",
            json={"label": "euro", "is_default": True, "risk_limits": {"max_open_positions": 3}},
        )
    )
    assert updated["label"] == "euro" and updated["is_default"]
    assert updated["risk_limits"] == {
        "max_volume_per_order": None,
        "max_open_positions": 3,
        "allowed_symbols": None,
        "max_daily_loss": None,
    }
    error(
        client.put(f"/api/v1/accounts/{second['id']}", json={"password": "wrong"}),
        400,
        "MT5_AUTH_FAILED",
    )
    ok(client.put(f"/api/v1/accounts/{second['id']}", json={"password": "demo-10002"}))

    status = ok(client.get(f"/api/v1/accounts/{second['id']}/status"))
    assert status["state"] == "connected" and status["last_seen_at"]
    assert ok(client.post(f"/api/v1/accounts/{second['id']}/reconnect"))["terminal"] in (
        "t1",
        "t2",
    )

    # soft delete: gone from the list and from every account endpoint
    assert ok(client.delete(f"/api/v1/accounts/{first['id']}")) == {
        "success": True,
        "id": first["id"],
    }
    assert [a["id"] for a in ok(client.get("/api/v1/accounts"))["accounts"]] == [second["id"]]
    error(client.get(f"/api/v1/accounts/{first['id']}/status"), 404, "ACCOUNT_NOT_FOUND")
    error(
        client.get("/api/v1/balance", params={"account_id": first["id"]}), 404, "ACCOUNT_NOT_FOUND"
    )
    assert ok(client.get("/api/v1/balance"))["login"] == 10002  # the default serves now


def test_bad_credentials_and_unknown_server(as_user: UserClient) -> None:
    client = as_user(new_user())
    error(
        client.post("/api/v1/accounts/connect", json={**DEMO, "password": "nope"}),
        400,
        "MT5_AUTH_FAILED",
    )
    body = error(
        client.post("/api/v1/accounts/connect", json={**DEMO, "server": "Nowhere-Live"}),
        400,
        "UNKNOWN_SERVER",
    )
    assert {"Sim-Demo", "Sim-Live"} <= set(body["known_servers"])
    error(client.post("/api/v1/accounts/connect", json={"login": 1}), 422, "VALIDATION_ERROR")
    assert ok(client.get("/api/v1/accounts"))["accounts"] == []
    names = [s["name"] for s in ok(client.get("/api/v1/servers"))["servers"]]
    assert {"Sim-Demo", "Sim-Live"} <= set(names)


def test_test_connection_saves_nothing(as_user: UserClient) -> None:
    client = as_user(new_user())
    body = ok(client.post("/api/v1/accounts/test-connection", json=EUR))
    assert body["success"] and body["account_info"]["currency"] == "EUR"
    error(
        client.post("/api/v1/accounts/test-connection", json={**EUR, "password": "x"}),
        400,
        "MT5_AUTH_FAILED",
    )
    assert ok(client.get("/api/v1/accounts"))["accounts"] == []


def test_wrong_password_for_a_held_account_is_refused(as_user: UserClient) -> None:
    """A terminal already logged into 10001 must not vouch for a wrong password."""
    owner, intruder = as_user(new_user()), as_user(new_user())
    ok(owner.post("/api/v1/accounts/connect", json=DEMO), 201)
    for _ in range(3):
        error(
            intruder.post("/api/v1/accounts/connect", json={**DEMO, "password": "guess"}),
            400,
            "MT5_AUTH_FAILED",
        )
    assert ok(owner.get("/api/v1/balance"))["login"] == 10001


def test_investor_account_reads(as_user: UserClient) -> None:
    client = as_user(new_user())
    body = ok(
        client.post(
            "/api/v1/accounts/connect",
            json={
                "login": 10003,
                "password": "investor-10003",
                "server": "Sim-Demo",
                "is_investor": True,
            },
        ),
        201,
    )
    assert body["is_investor"] and body["account_info"]["trade_allowed"] is False
    assert ok(client.get("/api/v1/account/info"))["login"] == 10003
    assert ok(client.get("/api/v1/positions"))["positions"] == []


def test_reconnect_records_a_changed_password(as_user: UserClient) -> None:
    """A stored password that no longer works: reconnect says so and status keeps the error."""
    client = as_user(new_user())
    account = ok(client.post("/api/v1/accounts/connect", json=EUR), 201)
    error(
        client.put(f"/api/v1/accounts/{account['id']}", json={"is_investor": True}),
        400,
        "PASSWORD_REQUIRED",
    )
    status = ok(client.get(f"/api/v1/accounts/{account['id']}/status"))
    assert status["state"] == "connected" and status["last_error"] is None


def test_concurrent_duplicate_connect(as_user: UserClient) -> None:
    client = as_user(new_user())
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: client.post("/api/v1/accounts/connect", json=EUR), range(4))
        )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {201, 409}, [a.text for a in answers]
    assert 201 in codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["code"] == "ACCOUNT_EXISTS"
    assert len(ok(client.get("/api/v1/accounts"))["accounts"]) == 1
