"""Lost answers: the terminal times out after executing, the connection drops after the send,
the terminal hangs so the outcome stays unknown for a while, and requotes. Every test checks
that exactly one order exists per idempotency key and that the API reports the true outcome."""

from __future__ import annotations

import threading
import time

from sim_control import SimControl
from trading_support import TERMINAL_TIMEOUT_S, Api, ok


def executed(api: Api, client_id: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in api.orders_with(client_id) if o["state"] == "filled"]


def test_timeout_after_execution_reports_the_executed_order(api: Api, control: SimControl) -> None:
    control.timeout_after_execute(seconds=TERMINAL_TIMEOUT_S + 1)
    body = api.trade("EURUSD", "buy", 0.1, key="fault-timeout-1")
    if body.status_code == 504:  # the look-up itself could not decide yet: wait for it
        state = api.wait_request(body.json()["request_id"], until={"done", "failed"})
        assert state["state"] == "done"
        body = api.trade("EURUSD", "buy", 0.1, key="fault-timeout-1")
    result = ok(body)
    assert result["success"] and result["reconciled"] and result["retcode"] == 10009
    (order,) = executed(api, result["client_id"])
    assert order["ticket"] == result["order"]
    (position,) = api.positions()
    assert position["ticket"] == result["ticket"]
    replay = ok(api.trade("EURUSD", "buy", 0.1, key="fault-timeout-1"))
    assert replay["replayed"] and replay["order"] == result["order"]
    assert len(api.history_orders()) == 1


def test_connection_dropped_after_send(api: Api, control: SimControl) -> None:
    control.timeout_after_execute(seconds=TERMINAL_TIMEOUT_S / 2)
    answers: list = []  # type: ignore[type-arg]
    sender = threading.Thread(
        target=lambda: answers.append(api.trade("EURUSD", "sell", 0.2, key="fault-drop-1"))
    )
    sender.start()
    time.sleep(0.3)  # ordering only: let the send reach the terminal, then cut every link
    control.drop_connections()
    sender.join(60)
    response = answers[0]
    if response.status_code == 504:
        state = api.wait_request(response.json()["request_id"], until={"done", "failed"})
        assert state["state"] == "done"
        response = api.trade("EURUSD", "sell", 0.2, key="fault-drop-1")
    result = ok(response)
    assert result["success"] and result["volume"] == 0.2
    assert len(executed(api, result["client_id"])) == 1
    assert len(api.history_orders()) == 1
    ok(api.trade("EURUSD", "sell", 0.2, key="fault-drop-1"))  # replay, no second order
    assert len(api.history_orders()) == 1


def test_unknown_outcome_finishes_in_the_background(api: Api, control: SimControl) -> None:
    # The terminal executes, then stays busy long after the in-request look-ups gave up.
    control.timeout_after_execute(seconds=6 * TERMINAL_TIMEOUT_S)
    response = api.trade("EURUSD", "buy", 0.3, key="fault-unknown-1")
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["code"] == "OUTCOME_UNKNOWN" and body["state"] == "unknown"
    assert body["request_id"] and body["client_id"] and body["success"] is False
    retry = api.trade("EURUSD", "buy", 0.3, key="fault-unknown-1")
    assert retry.status_code in (409, 200), retry.text  # in progress, or already resolved
    if retry.status_code == 409:
        assert retry.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
        assert retry.json()["request_ids"] == [body["request_id"]]
    state = api.wait_request(body["request_id"], until={"done", "failed"}, deadline_s=120)
    assert state["state"] == "done" and state["result"]["reconciled"] is True
    final = ok(api.trade("EURUSD", "buy", 0.3, key="fault-unknown-1"))
    assert final["replayed"] and final["success"] and final["request_id"] == body["request_id"]
    assert len(executed(api, body["client_id"])) == 1
    assert len(api.history_orders()) == 1


def test_forced_requotes_are_409_retryable_and_replayed(api: Api, control: SimControl) -> None:
    control.fail_next_order_send(retcode=10004)
    first = ok(api.trade("XAUUSD", "buy", 0.1, key="fault-requote-1"), 409)
    assert first["code"] == "REQUOTE" and first["retryable"] is True
    again = ok(api.trade("XAUUSD", "buy", 0.1, key="fault-requote-1"), 409)
    assert again["replayed"] and again["request_id"] == first["request_id"]
    assert api.history_orders() == []
    fresh = ok(api.trade("XAUUSD", "buy", 0.1, key="fault-requote-2"))
    assert fresh["success"] and len(api.history_orders()) == 1
