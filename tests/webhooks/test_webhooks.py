"""Webhooks end to end: the gateway with the stream under uvicorn, the simulator, a local
receiver. Every request is verified with the Standard Webhooks reference library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from receiver import Received, Receiver
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from stream_support import OTHER, Stack, request_id_of

pytestmark = pytest.mark.anyio

PRIVATE = {"webhook_allow_private_targets": True, "webhook_backoff_base_s": 0.2}


async def _create(stack: Stack, body: dict[str, Any], user: str = "trader-1") -> dict[str, Any]:
    async with stack.http(user) as http:
        response = await http.post("/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _trade(stack: Stack, **body: Any) -> dict[str, Any]:
    payload = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, **body}
    async with stack.http() as http:
        response = await http.post(
            "/trades", json=payload, params={"account_id": stack.ids.hedging}
        )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _verified(secret: str, requests: list[Received]) -> list[dict[str, Any]]:
    """Each body as the reference verifier returns it (it raises on any bad signature)."""
    verifier = Webhook(secret)
    return [verifier.verify(r.body, r.headers) for r in requests]


async def test_events_arrive_signed_as_standard_webhooks(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**PRIVATE)
    hook = await _create(stack, {"url": f"{receiver.url}/hook", "account_id": stack.ids.hedging})
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    await asyncio.sleep(0.5)  # the hub starts following the account for the webhook
    result = await _trade(stack)
    requests = await receiver.wait(2)
    bodies = _verified(hook["secret"], requests)
    assert [b["type"] for b in bodies] == ["deal.added", "position.opened"]
    events = [b["data"] for b in bodies]
    assert [r.headers["webhook-id"] for r in requests] == [e["id"] for e in events]
    assert events[1]["seq"] == events[0]["seq"] + 1
    assert events[0]["cause"] == {"by": "gateway", "request_id": request_id_of(result)}
    assert bodies[0]["timestamp"] == events[0]["time"]
    tampered = requests[0].body.replace(b'"deal.added"', b'"deal.removed"')
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(tampered, requests[0].headers)
    with pytest.raises(WebhookVerificationError):  # another endpoint's secret does not verify
        other = await _create(stack, {"url": f"{receiver.url}/other"})
        Webhook(other["secret"]).verify(requests[0].body, requests[0].headers)


async def test_receiver_down_then_back_gets_every_event_in_order(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**PRIVATE)
    hook = await _create(stack, {"url": f"{receiver.url}/hook"})  # all of the user's accounts
    await asyncio.sleep(0.5)
    receiver.mode = "down"
    for side in ("buy", "sell", "buy"):
        await _trade(stack, order_type=side)
    await receiver.wait(3)  # a few refused attempts
    receiver.mode = "ok"
    async with stack.http() as http:
        for _ in range(600):
            log = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()["deliveries"]
            if len(log) == 6 and all(d["status"] == "delivered" for d in log):
                break
            await asyncio.sleep(0.1)
    assert [d["status"] for d in log] == ["delivered"] * 6, log
    assert max(d["attempts"] for d in log) > 1
    good = [r for r in receiver.delivered() if r.headers["webhook-id"]]
    bodies = _verified(hook["secret"], good)
    order = [b["data"]["seq"] for b in bodies]
    first_seen = list(dict.fromkeys(order))  # a retry repeats a seq; order never goes back
    assert first_seen == list(range(first_seen[0], first_seen[0] + 6))
    assert order == sorted(order)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.100.100.200/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ],
)
async def test_private_and_odd_targets_are_refused(
    make_stack: Callable[..., Stack], url: str
) -> None:
    stack = make_stack()
    async with stack.http() as http:
        response = await http.post("/webhooks", json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "WEBHOOK_TARGET_REFUSED"


async def test_redirects_are_not_followed(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**PRIVATE)
    receiver.mode = "redirect"
    hook = await _create(stack, {"url": f"{receiver.url}/hook", "account_id": stack.ids.hedging})
    await asyncio.sleep(0.5)
    await _trade(stack)
    await receiver.wait(2)
    assert receiver.delivered("/elsewhere") == []
    async with stack.http() as http:
        log = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()["deliveries"]
    assert {d["status"] for d in log} == {"pending"}
    assert any(d["last_status"] == 302 for d in log)


async def test_failing_for_the_whole_window_disables_then_replay_delivers(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**PRIVATE, webhook_retry_window_s=1.0)
    receiver.mode = "down"
    hook = await _create(stack, {"url": f"{receiver.url}/hook", "account_id": stack.ids.hedging})
    await asyncio.sleep(0.5)
    await _trade(stack)
    async with stack.http() as http:
        for _ in range(300):
            state = (await http.get(f"/webhooks/{hook['id']}")).json()
            if not state["enabled"]:
                break
            await asyncio.sleep(0.1)
        assert state["enabled"] is False and "HTTP 503" in state["disabled_reason"]
        receiver.mode = "ok"
        replay = await http.post(f"/webhooks/{hook['id']}/replay", params={"after": 0})
        assert replay.status_code == 200, replay.text
        assert replay.json()["queued"] == 2
        assert (await http.get(f"/webhooks/{hook['id']}")).json()["enabled"] is True
    async with stack.http() as http:
        for _ in range(300):
            log = (await http.get(f"/webhooks/{hook['id']}/deliveries")).json()["deliveries"]
            if sorted(d["seq"] for d in log if d["status"] == "delivered") == [1, 2]:
                break
            await asyncio.sleep(0.1)
    assert sorted(d["seq"] for d in log if d["status"] == "delivered") == [1, 2]


async def test_crud_filters_and_isolation(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**PRIVATE)
    only_closes = await _create(
        stack,
        {
            "url": f"{receiver.url}/closes",
            "account_id": stack.ids.hedging,
            "event_types": ["position.closed"],
        },
    )
    async with stack.http() as http:
        listed = (await http.get("/webhooks")).json()["webhooks"]
        assert [h["id"] for h in listed] == [only_closes["id"]] and "secret" not in listed[0]
        theirs = await http.post(
            "/webhooks", json={"url": f"{receiver.url}/x", "account_id": stack.ids.foreign}
        )
        assert theirs.status_code == 404 and theirs.json()["code"] == "ACCOUNT_NOT_FOUND"
        bad = await http.post(
            "/webhooks", json={"url": f"{receiver.url}/x", "event_types": ["nope"]}
        )
        assert bad.status_code == 422
    async with stack.http(OTHER) as http:
        assert (await http.get(f"/webhooks/{only_closes['id']}")).status_code == 404
        assert (await http.delete(f"/webhooks/{only_closes['id']}")).status_code == 404
    await asyncio.sleep(0.5)
    opened = await _trade(stack)
    async with stack.http() as http:
        closed = await http.delete(
            f"/positions/{opened['position']}", params={"account_id": stack.ids.hedging}
        )
        assert closed.status_code == 200
    (only,) = await receiver.wait(1, path="/closes")
    assert _verified(only_closes["secret"], [only])[0]["type"] == "position.closed"
    async with stack.http() as http:
        assert (await http.delete(f"/webhooks/{only_closes['id']}")).status_code == 204
        assert (await http.get("/webhooks")).json() == {"webhooks": []}
