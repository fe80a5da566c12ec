"""Users reach only their own accounts, and passwords never leave the gateway in plain text."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from accounts_support import LogCapture, UserClient
from sqlalchemy import select

from gateway.db import Base, make_engine

PASSWORD = "demo-10002"
INVESTOR_PASSWORD = "investor-10001"
# User-scoped listings where account_id is only a filter: another user's id must find nothing.
FILTERS = {("GET", "/api/v1/audit"): "entries"}
FILL = {"symbol": "EURUSD", "ticket": "1", "position": "1", "order": "1"}


def connect(client: httpx.Client, login: int, password: str, **extra: Any) -> dict[str, Any]:
    body = {"login": login, "password": password, "server": "Sim-Demo", **extra}
    response = client.post("/api/v1/accounts/connect", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def account_scoped(spec: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(method, path, takes ?account_id=) of every operation addressing an account."""
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            in_query = any(
                p["name"] == "account_id" and p["in"] == "query" for p in op.get("parameters", [])
            )
            if "{account_id}" in path or in_query:
                found.append((method.upper(), path, in_query and "{account_id}" not in path))
    return found


def test_every_account_scoped_endpoint_hides_other_users_accounts(as_user: UserClient) -> None:
    alice, bob = as_user(str(uuid.uuid4())), as_user(str(uuid.uuid4()))
    theirs = connect(alice, 10001, "demo-10001")["id"]
    connect(bob, 10002, PASSWORD)
    spec = httpx.get(f"{alice.base_url}/openapi.json").json()
    endpoints = account_scoped(spec)
    must_cover = {
        ("GET", "/api/v1/account/info"),
        ("GET", "/api/v1/positions"),
        ("GET", "/api/v1/symbols"),
        ("GET", "/api/v1/accounts/{account_id}/status"),
        ("PUT", "/api/v1/accounts/{account_id}"),
        ("DELETE", "/api/v1/accounts/{account_id}"),
        ("POST", "/api/v1/accounts/{account_id}/switch"),
        ("POST", "/api/v1/accounts/{account_id}/reconnect"),
    }
    assert must_cover <= {(m, p) for m, p, _ in endpoints}
    for foreign in (theirs, str(uuid.uuid4())):
        for method, template, by_query in endpoints:
            path = template.replace("{account_id}", foreign)
            for name, value in FILL.items():
                path = path.replace("{" + name + "}", value)
            if "{" in path:  # addressed by an id of its own (a webhook), checked first: 404 there
                continue
            params = {"account_id": foreign} if by_query else {}
            has_body = method in ("POST", "PUT", "PATCH")
            response = bob.request(method, path, params=params, json={} if has_body else None)
            if (method, template) in FILTERS and response.status_code == 200:
                assert response.json()[FILTERS[method, template]] == [], template
                continue
            assert response.status_code == 404, (method, template, response.text)
            assert response.json()["code"] == "ACCOUNT_NOT_FOUND", (method, template)
    # Alice's account is untouched by all of that
    assert alice.get(f"/api/v1/accounts/{theirs}/status").status_code == 200


def test_admin_role_comes_from_app_metadata_only(as_user: UserClient) -> None:
    sub = str(uuid.uuid4())
    user_meta = as_user(sub, user_metadata={"role": "admin"}).get("/api/v1/me").json()
    assert user_meta["is_admin"] is False
    app_meta = as_user(sub, app_metadata={"role": "admin"}).get("/api/v1/me").json()
    assert app_meta["is_admin"] is True


def test_passwords_never_in_responses_logs_or_columns(
    as_user: UserClient, logs: LogCapture, db_url: str
) -> None:
    seen: list[str] = []
    client = as_user(str(uuid.uuid4()))
    client.event_hooks["response"] = [lambda r: seen.append(r.read().decode())]
    account = connect(client, 10002, PASSWORD, label="euro")
    investor = connect(client, 10001, INVESTOR_PASSWORD, is_investor=True)
    client.post(
        "/api/v1/accounts/test-connection",
        json={"login": 10002, "password": PASSWORD, "server": "Sim-Demo"},
    )
    client.post(
        "/api/v1/accounts/connect",
        json={"login": 10002, "password": "not-" + PASSWORD, "server": "Sim-Demo"},
    )
    client.put(f"/api/v1/accounts/{account['id']}", json={"password": PASSWORD})
    client.post(f"/api/v1/accounts/{account['id']}/reconnect")
    client.post(f"/api/v1/accounts/{investor['id']}/switch")
    client.get("/api/v1/accounts")
    client.get("/api/v1/account/info", params={"account_id": account["id"]})
    assert len(seen) >= 9
    for secret in (PASSWORD, INVESTOR_PASSWORD):
        assert not [body for body in seen if secret in body]
        assert not [line for line in logs.lines if secret in line]
        assert secret not in dump_database(db_url)
    assert any("gateway" in line for line in logs.lines)  # the capture does see the gateway


def dump_database(url: str) -> str:
    async def run() -> str:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                parts = []
                for table in Base.metadata.sorted_tables:
                    rows = (await conn.execute(select(table))).all()
                    parts.append(repr(rows))
                return "\n".join(parts)
        finally:
            await engine.dispose()

    return asyncio.run(run())
