"""Idempotency keys (replay, reuse with another body, refusals free the key, 200 concurrent
retries), trade requests, the audit log, and reconciliation look-ups against the terminal."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from server_process import TerminalServerProcess
from trading_support import Accounts, Api, ok

from gateway.terminal.rpyc_client import RpycTerminal
from gateway.trading.reconcile import ByClientId
from gateway.trading.sender import lookup


def test_replay_returns_the_stored_result(api: Api) -> None:
    first = ok(api.trade("EURUSD", "buy", 0.1, key="idem-1"))
    again = ok(api.trade("EURUSD", "buy", 0.1, key="idem-1"))
    assert again["replayed"] is True
    assert {k: v for k, v in again.items() if k != "replayed"} == first
    assert len(api.history_orders()) == 1


def test_same_key_other_body_is_422(api: Api) -> None:
    ok(api.trade("EURUSD", "buy", 0.1, key="idem-2"))
    r = api.trade("EURUSD", "buy", 0.2, key="idem-2")
    assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    r = api.delete("/positions/123", key="idem-2")
    assert r.status_code == 422
    assert len(api.history_orders()) == 1


def test_refusal_before_sending_frees_the_key(api: Api) -> None:
    r = api.trade("EURUSD", "buy", 0.013, key="idem-3")
    assert r.status_code == 422 and r.json()["rule"] == "volume_step"
    r = api.trade("EURUSD", "buy", 0.013, key="idem-3")
    assert r.status_code == 422 and r.json()["rule"] == "volume_step"  # checked again, not replayed
    ok(api.trade("EURUSD", "buy", 0.013, round_volume=True, key="idem-3"))


def test_200_concurrent_retries_make_exactly_one_order(api: Api) -> None:
    def fire(_: int) -> tuple[int, str]:
        response = api.trade("EURUSD", "buy", 0.1, key="idem-storm")
        return response.status_code, response.json().get("code", "")

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(fire, range(200)))
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 409, 429} and statuses[200] >= 1, answers
    assert all(code == "IDEMPOTENCY_IN_PROGRESS" for status, code in answers if status == 409)
    assert all(code == "USER_BUSY" for status, code in answers if status == 429)  # fair share
    assert len(api.history_orders()) == 1
    assert len(api.positions()) == 1


def test_trade_request_state_is_visible_to_its_owner_only(
    api: Api, api_for: Callable[..., Api], ids: Accounts
) -> None:
    body = ok(api.trade("EURUSD", "buy", 0.1))
    state = ok(api.get(f"/trades/requests/{body['request_id']}"))
    assert state["state"] == "done" and state["client_id"] == body["client_id"]
    assert state["request"]["comment"].startswith(body["client_id"])
    assert state["result"]["order"] == body["order"] and state["account_id"] == ids.hedging
    other = api_for("risky-1", ids.risky)
    r = other.get(f"/trades/requests/{body['request_id']}")
    assert r.status_code == 404 and r.json()["code"] == "TRADE_REQUEST_NOT_FOUND"


def test_audit_records_every_state_changing_call(
    api: Api, api_for: Callable[..., Api], ids: Accounts
) -> None:
    opened = ok(api.trade("EURUSD", "buy", 0.1, comment="audit me"))
    ok(api.delete(f"/positions/{opened['ticket']}"))
    api.trade("EURCHF", "buy", 0.1)  # refused before sending: audited too
    entries = ok(api.get("/audit", params={"limit": 3}))["entries"]
    assert [e["action"] for e in entries] == ["trade.open", "position.close", "trade.open"][::-1]
    refusal, close, trade = entries
    assert refusal["outcome"]["refused"] == "TradeRuleViolation" and refusal["retcode"] is None
    assert close["retcode"] == 10009 and close["request"]["ticket"] == opened["ticket"]
    assert trade["request"]["comment"] == "audit me" and trade["outcome"]["status"] == 200
    assert trade["account_id"] == ids.hedging and trade["user_id"] == "trader-1"
    assert "password" not in str(entries).lower()
    mine = ok(api_for("risky-1", ids.risky).get("/audit"))["entries"]
    assert all(e["user_id"] == "risky-1" for e in mine)
    admin = api_for("admin-1", None, app_metadata={"role": "admin"})
    everyone = ok(admin.get("/audit", params={"limit": 500}))["entries"]
    assert {"trader-1"} <= {e["user_id"] for e in everyone}


def test_reconciliation_finds_an_order_by_client_id_or_proves_it_absent(
    api: Api, sim_server: TerminalServerProcess
) -> None:
    body = ok(api.trade("EURUSD", "buy", 0.1))
    assert api.positions()  # the (single) terminal is on this account now

    async def look(client_id: str) -> object:
        terminal = RpycTerminal("probe", sim_server.host, sim_server.port, timeout_s=10)
        try:
            info = await terminal.symbol_info("EURUSD")
            return await lookup(terminal, ByClientId(client_id, "EURUSD", info["time"]), tries=1)
        finally:
            await terminal.close()

    found = asyncio.run(look(body["client_id"]))
    assert isinstance(found, dict)
    assert found["order"] == body["order"] and found["deal"] == body["deal"]
    assert asyncio.run(look("gw0000000000")) is None


def test_configured_single_tenant_account_trades_and_keeps_a_ledger(
    api_for: Callable[..., Api],
) -> None:
    single = api_for("single-1", None)
    body = ok(single.trade("EURUSD", "buy", 0.1))
    state = ok(single.get(f"/trades/requests/{body['request_id']}"))
    assert state["account_id"] == "default" and state["state"] == "done"
    (position,) = single.positions()
    assert position["ticket"] == body["ticket"]
