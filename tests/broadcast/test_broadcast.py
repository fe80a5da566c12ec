"""Broadcast over 3 users, 5 accounts and 2 terminals: an investor account refused, a risk limit
refusing, a forced requote, a broker suffix mapping; exactly one order per placed target in the
simulator's history, whatever the retries; close and exposure; admins only."""

from __future__ import annotations

import time
from typing import Any

import httpx
from conftest import ADMIN, ALICE, World

MAGIC = 424242


def api(world: World, user: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {world.token(user)}"}
    return httpx.Client(base_url=f"{world.url}/api/v1", headers=headers, timeout=60)


def finished(client: httpx.Client, broadcast_id: str) -> dict[str, Any]:
    end = time.monotonic() + 120  # a bound, not an assertion on speed
    while True:
        body: dict[str, Any] = client.get(f"/broadcasts/{broadcast_id}").json()
        if body["finished_at"] is not None or time.monotonic() > end:
            return body
        time.sleep(0.2)


def orders_placed(world: World, name: str) -> list[dict[str, Any]]:
    """The account's history orders that this broadcast's magic placed (as its owner sees them)."""
    with api(world, world.owners[name]) as client:
        answer = client.get("/history/orders", params={"account_id": world.ids[name]})
        assert answer.status_code == 200, answer.text
        return [
            o for o in answer.json()["orders"] if o["magic"] == MAGIC and o["state"] == "filled"
        ]


BODY = {
    "order": {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, "magic": MAGIC},
    "targets": {"users": [ALICE, "bob-1", "carol-1"]},
    "sizing": {"mode": "multiplier", "value": 1},
    "symbol_map": {"Sim-Demo": {"EURUSD": "EURUSD.m"}},
}


def test_broadcast_end_to_end(world: World) -> None:
    with api(world, ADMIN) as admin, api(world, ALICE) as alice:
        assert alice.post("/broadcasts", json=BODY).status_code == 403  # admins only
        for control in world.controls:
            control.fail_next_order_send(retcode=10004)  # the first send on each terminal
        first = admin.post("/broadcasts", json=BODY, headers={"Idempotency-Key": "bc-1"})
        assert first.status_code == 202, first.text
        broadcast_id = first.json()["id"]
        done = finished(admin, broadcast_id)
        assert done["finished_at"] is not None
        by = {t["account_id"]: t for t in done["targets"]}
        names = {v: k for k, v in world.ids.items()}
        outcome = {names[a]: t for a, t in by.items()}
        assert len(outcome) == 5
        assert outcome["carol_investor"]["state"] == "refused"
        assert outcome["carol_investor"]["code"] == "INVESTOR_READ_ONLY"
        assert (outcome["bob_risky"]["state"], outcome["bob_risky"]["code"]) == (
            "refused",
            "RISK_LIMIT",
        )
        tradable = ["alice_hedging", "alice_netting", "carol_live"]
        requoted = [n for n in tradable if outcome[n]["code"] == "REQUOTE"]
        filled = [n for n in tradable if outcome[n]["state"] == "filled"]
        assert 1 <= len(requoted) <= 2 and sorted(requoted + filled) == sorted(tradable)
        for name in filled:
            assert outcome[name]["ticket"] and outcome[name]["volume"] == 0.1
        for name in tradable:  # the suffix map applies to Sim-Demo accounts only
            expected = "EURUSD" if name == "carol_live" else "EURUSD.m"
            assert outcome[name]["symbol"] == expected, outcome[name]

        again = admin.post("/broadcasts", json=BODY, headers={"Idempotency-Key": "bc-1"})
        assert again.status_code == 200 and again.json()["id"] == broadcast_id
        for name in world.ids:  # exactly one order per placed target, none for the refused
            if name == "carol_investor":
                continue  # the same MT5 account as alice_hedging: its history is hers
            placed = orders_placed(world, name)
            assert len(placed) == (1 if name in filled else 0), (name, placed)

        exposure = admin.get(f"/broadcasts/{broadcast_id}/exposure").json()["exposure"]
        lots = {e["symbol"]: e for e in exposure}
        total = sum(e["long"] for e in exposure)
        assert total == round(0.1 * len(filled), 8) and all(e["short"] == 0 for e in exposure)
        assert set(lots) <= {"EURUSD", "EURUSD.m"}

        closed = admin.post(f"/broadcasts/{broadcast_id}/close").json()
        states = {names[t["account_id"]]: t["state"] for t in closed["targets"]}
        assert all(states[n] == "closed" for n in filled)
        again_closed = admin.post(f"/broadcasts/{broadcast_id}/close").json()
        assert again_closed["progress"]["closed"] == len(filled)
        with api(world, ALICE) as owner:
            for name in ("alice_hedging", "alice_netting"):
                left = owner.get("/positions", params={"account_id": world.ids[name]}).json()
                assert [p for p in left["positions"] if p["magic"] == MAGIC] == []
        assert admin.get(f"/broadcasts/{broadcast_id}/exposure").json()["exposure"] == []


def test_tags_target_accounts(world: World) -> None:
    with api(world, ADMIN) as admin, api(world, ALICE) as alice:
        tagged = alice.put(f"/accounts/{world.ids['alice_hedging']}/tags", json={"tags": ["copy"]})
        assert tagged.status_code == 200 and tagged.json()["tags"] == ["copy"]
        body = {**BODY, "targets": {"tag": "copy"}, "order": {**BODY["order"], "magic": MAGIC + 1}}
        started = admin.post("/broadcasts", json=body)
        assert started.status_code == 202, started.text
        done = finished(admin, started.json()["id"])
        assert [t["account_id"] for t in done["targets"]] == [world.ids["alice_hedging"]]
        other = alice.put(f"/accounts/{world.ids['carol_live']}/tags", json={"tags": ["x"]})
        assert other.status_code == 404  # not hers


def test_bad_broadcasts_are_4xx(world: World) -> None:
    with api(world, ADMIN) as admin:
        risk_without_stop = {**BODY, "sizing": {"mode": "risk_percent", "value": 1}}
        assert admin.post("/broadcasts", json=risk_without_stop).status_code == 422
        assert admin.post("/broadcasts", json={**BODY, "targets": {}}).status_code == 422
        nobody = {**BODY, "targets": {"users": ["nobody"]}}
        assert admin.post("/broadcasts", json=nobody).status_code == 422
        assert admin.get("/broadcasts/00000000-0000-0000-0000-000000000000").status_code == 404
