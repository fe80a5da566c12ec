"""The calculators against hand-computed values, through the real gateway and simulator.

Prices are the simulator's at the frozen session time (a Tuesday), read from the API where a
figure depends on them; every expected value below is worked out by hand from contract sizes,
quotes and the stop distance, not by calling the code under test."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import GatewayServer, JwksServer, claims, sign

EUR_USER = "22222222-3333-4444-8555-666666666666"


def size(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/calculate/position-size", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def quote(client: httpx.Client, symbol: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/symbols/{symbol}/tick")
    assert answer.status_code == 200, answer.text
    tick: dict[str, Any] = answer.json()
    return tick


def spec(client: httpx.Client, symbol: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/symbols/{symbol}")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_forex_major_on_a_usd_account(client: httpx.Client) -> None:
    # EURUSD, 100,000 units a lot: 50 points (0.00050) cost 50 USD a lot; 1% of 10,000 USD is
    # 100 USD, so 2 lots.
    out = size(client, symbol="EURUSD", order_type="buy", risk_percent=1, price=1.1, stop_points=50)
    assert out["stop_loss"] == pytest.approx(1.0995)
    assert out["loss_per_lot"] == pytest.approx(50.0)
    assert out["volume"] == 2.0
    assert out["risk_amount"] == pytest.approx(100.0)
    assert out["currency"] == "USD"
    assert out["clamped"] is None


def test_volume_rounds_down_never_up(client: httpx.Client) -> None:
    # 99.99 USD at 50 USD a lot is 1.9998 lots: 1.99 (never 2.00, which would risk more).
    out = size(
        client, symbol="EURUSD", order_type="sell", risk_amount=99.99, price=1.1, stop_loss=1.1005
    )
    assert out["volume"] == 1.99
    assert out["risk_amount"] == pytest.approx(99.5)


def test_clamped_to_the_minimum_says_so(client: httpx.Client) -> None:
    out = size(
        client, symbol="EURUSD", order_type="buy", risk_amount=0.01, price=1.1, stop_points=50
    )
    assert out["volume"] == 0.01
    assert out["clamped"] == "volume_min"
    assert out["risk_amount"] == pytest.approx(0.5)  # more than asked: hence the flag


def test_metal(client: httpx.Client) -> None:
    # XAUUSD, 100 oz a lot: a 10.00 USD stop costs 1,000 USD a lot; 250 USD buys 0.25 lots.
    contract = spec(client, "XAUUSD")["contract_size"]
    assert contract == 100
    out = size(
        client, symbol="XAUUSD", order_type="buy", risk_amount=250, price=2000.0, stop_loss=1990.0
    )
    assert out["loss_per_lot"] == pytest.approx(1000.0)
    assert out["volume"] == 0.25


def test_index_cfd(client: httpx.Client) -> None:
    s = spec(client, "US500")
    per_point_of_price = s["contract_size"]  # USD per 1.0 of index price per lot
    price = 5000.0
    out = size(client, symbol="US500", order_type="sell", risk_amount=300, price=price,
               stop_loss=price + 20)  # fmt: skip
    assert out["loss_per_lot"] == pytest.approx(20 * per_point_of_price)
    expected = math.floor(300 / (20 * per_point_of_price) / s["volume_step"] + 1e-9)
    assert out["volume"] == pytest.approx(max(expected * s["volume_step"], s["volume_min"]))


def test_bitcoin(client: httpx.Client) -> None:
    # 1 BTC a lot: a 1,000 USD stop costs 1,000 USD a lot; 1% of 10,000 USD buys 0.1 lots.
    assert spec(client, "BTCUSD")["contract_size"] == 1
    out = size(
        client, symbol="BTCUSD", order_type="buy", risk_percent=1, price=60000, stop_loss=59000
    )
    assert out["volume"] == 0.1
    assert out["risk_amount"] == pytest.approx(100.0)


def test_default_entry_is_the_current_ask_for_a_buy(client: httpx.Client) -> None:
    tick = quote(client, "EURUSD")
    out = size(client, symbol="EURUSD", order_type="buy", risk_amount=100, stop_points=100)
    assert out["price"] == tick["ask"]
    assert out["stop_loss"] == pytest.approx(tick["ask"] - 0.001)


@pytest.fixture(scope="module")
def eur_client(gateway: GatewayServer, jwks: JwksServer) -> Iterator[httpx.Client]:
    """A user of their own with the EUR demo account 10002 connected."""
    token = sign(jwks.keys[0], claims(jwks.issuer, sub=EUR_USER, email="eur@example.com"))
    with httpx.Client(
        base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        answer = http.post(
            "/api/v1/accounts/connect",
            json={"login": 10002, "password": "demo-10002", "server": "Sim-Demo"},
        )
        assert answer.status_code in (200, 201), answer.text
        yield http


def test_jpy_pair_on_an_eur_account(eur_client: httpx.Client, client: httpx.Client) -> None:
    # USDJPY, 100,000 USD a lot: a 0.500 JPY stop costs 50,000 JPY a lot. In EUR that is
    # 50,000 / EURJPY, and EURJPY = EURUSD x USDJPY.
    eurusd, usdjpy = quote(client, "EURUSD"), quote(client, "USDJPY")
    mid = (eurusd["bid"] + eurusd["ask"]) / 2 * (usdjpy["bid"] + usdjpy["ask"]) / 2
    price = round(usdjpy["ask"], 3)
    out = size(eur_client, symbol="USDJPY", order_type="buy", risk_amount=200, price=price,
               stop_loss=round(price - 0.5, 3))  # fmt: skip
    assert out["currency"] == "EUR"
    assert out["loss_per_lot"] == pytest.approx(50_000 / mid, rel=2e-3)
    lots = math.floor(200 / (50_000 / mid) * 100 + 1e-9) / 100
    assert out["volume"] == pytest.approx(lots, abs=0.011)  # one step of slack for the rate used


def test_cross_without_the_account_currency(client: httpx.Client) -> None:
    # EURGBP on a USD account: 20 points (0.00020 GBP) a lot is 20 GBP, in USD 20 x GBPUSD.
    gbpusd = quote(client, "GBPUSD")
    mid = (gbpusd["bid"] + gbpusd["ask"]) / 2
    out = size(client, symbol="EURGBP", order_type="sell", risk_amount=100, price=0.85,
               stop_loss=0.8502)  # fmt: skip
    assert out["loss_per_lot"] == pytest.approx(20 * mid, rel=2e-3)


def test_margin_and_profit_mirror_the_terminal(client: httpx.Client, raw_terminal: Any) -> None:
    margin = client.post(
        "/api/v1/calculate/margin",
        json={"symbol": "EURUSD", "order_type": "buy", "volume": 2, "price": 1.1},
    )
    assert margin.status_code == 200, margin.text
    assert margin.json()["margin"] == pytest.approx(
        raw_terminal("order_calc_margin", 0, "EURUSD", 2.0, 1.1), abs=0.01
    )
    profit = client.post(
        "/api/v1/calculate/profit",
        json={"symbol": "EURUSD", "order_type": "buy", "volume": 1, "price_open": 1.1,
              "price_close": 1.101},
    )  # fmt: skip
    assert profit.status_code == 200, profit.text
    assert profit.json()["profit"] == pytest.approx(100.0)  # 0.001 x 100,000 USD


def test_swap_over_a_week_counts_the_triple_day(client: httpx.Client) -> None:
    s = spec(client, "EURUSD")
    body = {"symbol": "EURUSD", "order_type": "buy", "volume": 1, "nights": 7, "start_weekday": 1}
    answer = client.post("/api/v1/calculate/swap", json=body)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["swap_mode"] == "points"  # the demo majors charge swaps in points
    assert out["rate"] == s["swap_long"]
    assert out["per_night"] == pytest.approx(s["swap_long"] * 0.00001 * 100_000, abs=0.01)
    assert out["triple_nights"] == 1
    assert out["total"] == pytest.approx(out["per_night"] * 9, abs=0.02)


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": "EURUSD", "order_type": "buy", "risk_percent": 1, "price": 1.1,
         "stop_loss": 1.2},  # a buy's stop above its entry
        {"symbol": "EURUSD", "order_type": "buy", "risk_percent": 1, "risk_amount": 5,
         "stop_points": 10},
        {"symbol": "EURUSD", "order_type": "buy", "risk_percent": 1},
        {"symbol": "EURUSD", "order_type": "buy", "risk_amount": 1e308, "stop_points": 10},
        {"symbol": "EURUSD", "order_type": "hold", "risk_amount": 5, "stop_points": 10},
    ],
)  # fmt: skip
def test_bad_requests_are_422(client: httpx.Client, body: dict[str, Any]) -> None:
    answer = client.post("/api/v1/calculate/position-size", json=body)
    assert answer.status_code == 422, answer.text
    assert {"detail", "code"} <= set(answer.json())


def test_non_finite_numbers_are_422(client: httpx.Client) -> None:
    raw = '{"symbol":"EURUSD","order_type":"buy","risk_amount":Infinity,"stop_points":10}'
    answer = client.post(
        "/api/v1/calculate/position-size",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text


def test_unknown_symbol_is_404(client: httpx.Client) -> None:
    answer = client.post(
        "/api/v1/calculate/position-size",
        json={"symbol": "NOPE", "order_type": "buy", "risk_amount": 5, "stop_points": 10},
    )
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "SYMBOL_NOT_FOUND"
