"""Smart filling for every filling/execution combination of the catalog, the 10030 retry and
a forced policy."""

from __future__ import annotations

import pytest
from trading_support import Api, ok

# symbol, volume, expected policy (execution mode / filling flags in the comment)
MARKET = [
    ("EURUSD", 0.1, "fok"),  # market, FOK|IOC
    ("AUDUSD", 0.1, "fok"),  # market, FOK only
    ("USDCHF", 0.1, "ioc"),  # market, IOC only
    ("XAUUSD", 0.1, "fok"),  # instant (always FOK)
    ("US500", 0.1, "fok"),  # request (always FOK)
    ("SIMX", 1, "return"),  # exchange, RETURN only
    ("SIMF", 1, "fok"),  # exchange, FOK|IOC|BOC|RETURN
]


@pytest.mark.parametrize(("symbol", "volume", "policy"), MARKET)
def test_market_orders_pick_an_allowed_policy(
    api: Api, symbol: str, volume: float, policy: str
) -> None:
    body = ok(api.trade(symbol, "buy", volume))
    assert body["filling"] == policy
    assert body["filling_attempts"] == [{"filling": policy, "retcode": 10009}]
    (order,) = api.orders_with(body["client_id"])
    assert order["type_filling"] == policy and order["state"] == "filled"


@pytest.mark.parametrize(
    ("symbol", "wrong", "right"),
    [("AUDUSD", "ioc", "fok"), ("USDCHF", "fok", "ioc"), ("SIMX", "fok", "return")],
)
def test_10030_is_retried_once_with_the_next_allowed_policy(
    api: Api, symbol: str, wrong: str, right: str
) -> None:
    volume = 1 if symbol == "SIMX" else 0.1
    body = ok(api.trade(symbol, "buy", volume, filling=wrong))
    assert body["filling"] == right
    assert body["filling_attempts"] == [
        {"filling": wrong, "retcode": 10030},
        {"filling": right, "retcode": 10009},
    ]
    assert len(api.history_orders()) == 1  # the refused attempt left nothing


def test_caller_may_force_a_policy(api: Api) -> None:
    body = ok(api.trade("SIMF", "buy", 1, filling="ioc", filling_strict=True))
    assert body["filling"] == "ioc"
    body = ok(api.trade("USDCHF", "buy", 0.1, filling="fok", filling_strict=True), 422)
    assert body["retcode"] == 10030 and body["code"] == "INVALID_FILL"
    assert body["filling_attempts"] == [{"filling": "fok", "retcode": 10030}]


def test_pending_orders_use_return_and_boc_where_allowed(api: Api) -> None:
    price = ok(api.trade("SIMF", "buy", 1))["price"]
    base = {
        "symbol": "SIMF",
        "order_type": "buy_limit",
        "volume": 1,
        "price": round(price * 0.98, 2),
    }
    placed = ok(api.post("/orders", base), 201)
    assert placed["filling"] == "return"
    boc = ok(api.post("/orders", {**base, "filling": "boc", "filling_strict": True}), 201)
    assert boc["filling"] == "boc"
    rows = {o["ticket"]: o["type_filling"] for o in api.orders()}
    assert rows == {placed["ticket"]: "return", boc["ticket"]: "boc"}


def test_instant_execution_requote_beyond_deviation(api: Api) -> None:
    price = ok(api.trade("XAUUSD", "buy", 0.1))["price"]
    body = ok(api.trade("XAUUSD", "buy", 0.1, price=round(price + 5, 2), deviation=10), 409)
    assert body["retcode"] == 10004 and body["code"] == "REQUOTE" and body["retryable"]
    body = ok(api.trade("XAUUSD", "buy", 0.1, price=round(price + 0.05, 2), deviation=10))
    assert body["success"]
