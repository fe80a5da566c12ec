"""Issue 8 items 3, 8 and 14: hostile input at the API edge, on SQLite and on PostgreSQL.

NUL and other control characters, non-finite or absurd numbers, integers past 64 bits and the
end of MT5's date range all answer 4xx ``{detail, code}`` before anything reaches the terminal
or the store, and an idempotency key refused at the edge is never left stuck."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from trading_support import Api, ok

pytestmark = pytest.mark.usefixtures("store_gateway")


def refused(response: httpx.Response, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["code"], str), body
    return body


def raw_json(api: Api, method: str, path: str, text: str, **kw: Any) -> httpx.Response:
    """Send ``text`` as the JSON body as it is (Python's json would write Infinity too)."""
    headers = {"Content-Type": "application/json"}
    return api.request(method, path, content=text.encode(), headers=headers, **kw)


def nothing_traded(api: Api) -> None:
    assert api.positions() == []
    assert api.history_orders() == []


# -- item 3: NUL and Infinity in trade input ---------------------------------------------------


@pytest.mark.parametrize("key", [None, "edge-nul-comment"])
def test_nul_in_a_comment_is_422_and_opens_nothing(store_api: Api, key: str | None) -> None:
    comment = "x" * 16 + "\u0000"  # the NUL sits past the part MT5 keeps
    body = refused(store_api.trade("EURUSD", "buy", 0.1, comment=comment, key=key))
    assert body["code"] == "VALIDATION_ERROR" and "comment" in body["detail"]
    nothing_traded(store_api)
    if key is not None:  # the key was never taken: the corrected request goes through
        ok(store_api.trade("EURUSD", "buy", 0.1, comment="x" * 16, key=key))
        assert len(store_api.positions()) == 1


def test_infinite_take_profit_is_422_and_leaves_the_key_free(store_api: Api) -> None:
    text = '{"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, "take_profit": Infinity}'
    body = refused(raw_json(store_api, "POST", "/trades", text, key="edge-inf-tp"))
    assert "take_profit" in body["detail"] and "finite" in body["detail"]
    nothing_traded(store_api)
    again = ok(store_api.trade("EURUSD", "buy", 0.1, key="edge-inf-tp"))
    assert again["success"] and "replayed" not in again
    assert len(store_api.positions()) == 1


def test_every_spot_refuses_nul_and_infinity(store_api: Api) -> None:
    ticket = ok(store_api.trade("EURUSD", "buy", 0.1))["ticket"]
    placed = store_api.post(
        "/orders", {"symbol": "EURUSD", "order_type": "buy_limit", "volume": 0.1, "price": 1.0}
    )
    order = ok(placed)["ticket"]
    for method in ("PATCH", "PUT"):
        refused(raw_json(store_api, method, f"/positions/{ticket}", '{"stop_loss": Infinity}'))
        refused(raw_json(store_api, method, f"/positions/{ticket}", '{"take_profit": NaN}'))
    for volume in ("Infinity", "NaN", "-Infinity", "1e308", "\u0000", "0.1\u0000"):
        refused(store_api.delete(f"/positions/{ticket}", params={"volume": volume}))
    refused(store_api.post("/positions/close-all", {"comment": "a\u0000b"}))
    refused(store_api.post("/positions/close-all", {"comment": "tab\there"}))
    refused(store_api.post(f"/positions/{ticket}/close-by", {"opposite": 1, "comment": "\u0000"}))
    refused(raw_json(store_api, "PATCH", f"/orders/{order}", '{"price": Infinity}'))
    refused(raw_json(store_api, "PATCH", f"/orders/{order}", '{"stoplimit": NaN}'))
    pending = '{"symbol": "EURUSD", "order_type": "buy_limit", "volume": 0.1, "price": 1.0, '
    refused(raw_json(store_api, "POST", "/orders", pending + '"comment": "\\u0000"}'))
    refused(raw_json(store_api, "POST", "/orders", pending + '"stop_loss": -Infinity}'))
    check = '{"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, "price": Infinity}'
    refused(raw_json(store_api, "POST", "/trades/check", check))
    refused(store_api.get("/audit", params={"action": "\u0000"}))
    refused(store_api.get("/audit", params={"account_id": "\u0000"}))
    refused(store_api.get("/audit", params={"action": "trade.open\u0000"}))
    assert store_api.get("/trades/requests/%00").status_code in (404, 422)
    assert store_api.get("/trades/requests/a%00b").status_code in (404, 422)
    refused(store_api.get("/history/deals", params={"start_date": "\u0000"}))
    (position,) = store_api.positions()  # all of it refused: the position is as it was
    assert position["sl"] == 0 and position["tp"] == 0 and position["volume"] == 0.1
    assert len(store_api.orders()) == 1
    assert all(e["action"] != "position.close_all" for e in audit(store_api))


def test_connect_label_with_nul_is_422(store_api: Api) -> None:
    body = {"login": 10002, "password": "demo-10002", "server": "Sim-Demo"}
    for label in ("a\u0000", "line\nbreak", "\u001b[31m"):
        response = store_api.post("/accounts/connect", {**body, "label": label})
        assert "label" in refused(response)["detail"]
    refused(store_api.post("/accounts/connect", {**body, "server": "Sim-Demo\u0000"}))


def audit(api: Api, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = ok(api.get("/audit", params=params))["entries"]
    return entries


# -- item 8: every float finite and bounded ----------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("take_profit", "Infinity"),
        ("take_profit", "1e308"),
        ("stop_loss", "1e308"),
        ("stop_loss", "NaN"),
        ("price", "1e308"),
        ("price", "Infinity"),
        ("volume", "Infinity"),
        ("volume", "1e308"),
    ],
)
def test_non_finite_and_huge_numbers_are_422(store_api: Api, field: str, value: str) -> None:
    body = {"symbol": "EURUSD", "order_type": "buy", "volume": 0.1, field: "@"}
    text = json.dumps(body).replace('"@"', value)
    detail = refused(raw_json(store_api, "POST", "/trades", text))["detail"]
    assert field in detail
    nothing_traded(store_api)


def test_positions_never_hold_an_infinite_level(store_api: Api) -> None:
    ok(store_api.trade("EURUSD", "buy", 0.1))
    (position,) = store_api.positions()
    text = '{"take_profit": Infinity}'
    refused(raw_json(store_api, "PATCH", f"/positions/{position['ticket']}", text))
    (after,) = store_api.positions()
    assert after["tp"] == 0.0


# -- item 14: integers, ranges and comments bounded at the edge --------------------------------


def test_integers_past_their_range_are_422(store_api: Api) -> None:
    body = refused(store_api.get("/audit", params={"before_id": 2**63}))
    assert "before_id" in body["detail"]
    assert "order" in refused(store_api.get("/history/deals", params={"order": 2**64}))["detail"]
    refused(store_api.get("/history/orders", params={"position": 2**64}))
    refused(store_api.get("/history/deals", params={"ticket": -1}))
    refused(store_api.delete(f"/positions/{2**63}"))
    refused(store_api.post("/positions/1/close-by", {"opposite": 2**63}))
    refused(store_api.trade("EURUSD", "buy", 0.1, magic=2**64))
    refused(store_api.trade("EURUSD", "buy", 0.1, deviation=2**31))
    nothing_traded(store_api)


def test_the_end_of_mt5_time_is_a_valid_range_end(store_api: Api) -> None:
    ok(store_api.trade("EURUSD", "buy", 0.1))
    wide = {"start_date": 0, "end_date": 2147483647}
    deals = ok(store_api.get("/history/deals", params=wide))["deals"]
    (order,) = ok(store_api.get("/history/orders", params=wide))["orders"]
    assert [d["order"] for d in deals if d["order"]] == [order["ticket"]]
    refused(store_api.get("/history/deals", params={"end_date": 2147483648}))
    refused(store_api.get("/history/orders", params={"start_date": 5, "end_date": 4}))


def test_a_comment_of_64_emoji_is_cut_by_utf16_code_units(store_api: Api) -> None:
    result = ok(store_api.trade("EURUSD", "buy", 0.1, comment="\U0001f600" * 64))
    (position,) = store_api.positions()
    comment = position["comment"]
    assert comment.startswith(result["client_id"] + " \U0001f600")
    assert len(comment.encode("utf-16-le")) // 2 <= 29  # MT5 keeps 29 UTF-16 code units
    assert "\ufffd" not in comment and comment.endswith("\U0001f600")  # no half emoji
    refused(store_api.trade("EURUSD", "buy", 0.1, comment="\U0001f600" * 65))
