"""Every rule checked before sending: a 4xx naming the rule and the allowed values, and nothing
reaching the broker."""

from __future__ import annotations

from collections.abc import Callable

from sim_control import SimControl
from trading_support import SATURDAY_MS, Accounts, Api, ok


def refused(response, rule: str, status: int = 422) -> dict:  # type: ignore[no-untyped-def]
    body = ok(response, status)
    assert body["rule"] == rule, body
    assert body["detail"] and "allowed" in body
    return body


def test_volume_min_max_and_step(api: Api) -> None:
    body = refused(api.trade("AUDUSD", "buy", 0.05), "volume_min")
    assert body["allowed"] == {"min": 0.1, "max": 50.0, "step": 0.1}
    refused(api.trade("EURUSD", "buy", 150), "volume_max")
    body = refused(api.trade("EURUSD", "buy", 0.013), "volume_step")
    assert body["allowed"]["nearest"] == [0.01, 0.02]
    assert api.history_orders() == []


def test_volume_rounds_only_when_asked_and_says_so(api: Api) -> None:
    body = ok(api.trade("EURUSD", "buy", 0.013, round_volume=True))
    assert body["volume"] == 0.01
    assert any("rounded from 0.013 to 0.01" in note for note in body["notes"])


def test_stops_level_and_sides(api: Api) -> None:
    body = refused(api.trade("GBPUSD", "buy", 0.1, stop_loss_points=5), "stops_level")
    assert body["allowed"]["stops_level_points"] == 10
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    refused(api.trade("EURUSD", "buy", 0.1, stop_loss=round(price + 0.01, 5)), "stops_level")
    refused(api.trade("EURUSD", "sell", 0.1, take_profit=round(price + 0.01, 5)), "stops_level")
    assert len(api.positions()) == 1


def test_pending_price_side_and_stoplimit(api: Api) -> None:
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    base = {"symbol": "EURUSD", "volume": 0.1}
    body = refused(
        api.post("/orders", {**base, "order_type": "buy_limit", "price": round(price + 0.01, 5)}),
        "price_side",
    )
    assert body["allowed"]["price"].startswith("<")
    refused(
        api.post("/orders", {**base, "order_type": "sell_stop", "price": round(price + 0.01, 5)}),
        "price_side",
    )
    refused(
        api.post(
            "/orders",
            {
                **base,
                "order_type": "buy_stop_limit",
                "price": round(price + 0.002, 5),
                "stoplimit": round(price + 0.003, 5),
            },
        ),
        "stoplimit",
    )
    assert api.orders() == []


def test_body_shape_errors_are_422_not_500(api: Api) -> None:
    r = api.post(
        "/orders", {"symbol": "EURUSD", "order_type": "buy_stop_limit", "volume": 0.1, "price": 1.2}
    )
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"
    r = api.post("/trades", {"symbol": "EURUSD", "order_type": "hold", "volume": 0.1})
    assert r.status_code == 422
    r = api.trade("EURUSD", "buy", 0.1, stop_loss=1.0, stop_loss_points=10)
    assert r.status_code == 422
    r = api.trade("NOPE", "buy", 0.1)
    assert r.status_code == 404 and r.json()["code"] == "SYMBOL_NOT_FOUND"


def test_freeze_level_blocks_sl_tp_change(api: Api, control: SimControl) -> None:
    body = ok(api.trade("GBPUSD", "buy", 0.1, stop_loss_points=30))
    (pos,) = api.positions()
    control.push_price(server="Sim-Demo", symbol="GBPUSD", bid=pos["sl"] + 0.00003)
    body = refused(
        api.patch(f"/positions/{body['ticket']}", {"take_profit_points": 500}), "freeze_level"
    )
    assert body["allowed"] == {"freeze_level_points": 5}


def test_trade_modes(api: Api) -> None:
    body = refused(api.trade("EURCHF", "buy", 0.1), "trade_mode")
    assert body["allowed"] == {"trade_mode": "close_only"}
    refused(api.trade("USDTRY", "buy", 0.1), "trade_mode")
    body = refused(api.trade("XAGUSD", "sell", 0.1), "trade_mode")
    assert body["allowed"] == {"trade_mode": "long_only"}
    ok(api.trade("XAGUSD", "buy", 0.1))


def test_market_closed_comes_from_the_terminal_as_409(api: Api, control: SimControl) -> None:
    control.set_time(ms=SATURDAY_MS)
    body = ok(api.trade("EURUSD", "buy", 0.1), 409)
    assert body["retcode"] == 10018 and body["code"] == "MARKET_CLOSED" and body["retryable"]
    assert body["success"] is False and body["retcode_name"] == "market_closed"
    ok(api.trade("BTCUSD", "buy", 0.01))  # crypto trades 24/7


def test_investor_account_is_refused_before_sending(
    api_for: Callable[..., Api], ids: Accounts, api: Api
) -> None:
    investor = api_for("investor-1", ids.investor)
    r = investor.trade("EURUSD", "buy", 0.1)
    assert r.status_code == 403 and r.json()["code"] == "INVESTOR_READ_ONLY"
    assert investor.delete("/positions/1").status_code == 403
    assert investor.positions() == []  # reads still work
    assert api.history_orders() == []  # nothing reached the broker


def test_risk_limits_name_the_limit(
    api_for: Callable[..., Api], ids: Accounts, control: SimControl
) -> None:
    risky = api_for("risky-1", ids.risky)
    body = refused(risky.trade("USDCHF", "buy", 0.1), "allowed_symbols")
    assert body["code"] == "RISK_LIMIT" and body["allowed"] == ["EURUSD", "GBPUSD", "USDJPY"]
    body = refused(risky.trade("EURUSD", "buy", 1.5), "max_volume_per_order")
    assert body["allowed"] == {"max": 1.0}
    opened = [ok(risky.trade("EURUSD", "buy", 0.5)) for _ in range(2)]
    body = refused(risky.trade("EURUSD", "buy", 0.1), "max_open_positions")
    assert body["allowed"] == {"max": 2, "open": 2}
    tick_bid = risky.positions()[0]["price_current"]
    control.push_price(server="Sim-Demo", symbol="EURUSD", bid=round(tick_bid - 0.002, 5))
    for trade in opened:
        ok(risky.delete(f"/positions/{trade['ticket']}"))
    body = refused(risky.trade("EURUSD", "buy", 0.1), "max_daily_loss")
    assert body["allowed"]["max"] == 50.0 and body["allowed"]["today"] >= 50.0


def test_close_volume_and_close_by_rules(api: Api, ids: Accounts) -> None:
    ticket = ok(api.trade("EURUSD", "buy", 0.1))["ticket"]
    body = refused(api.delete(f"/positions/{ticket}", params={"volume": 0.2}), "close_volume")
    assert body["allowed"]["max"] == 0.1
    other = ok(api.trade("USDJPY", "sell", 0.1))["ticket"]
    refused(api.post(f"/positions/{ticket}/close-by", {"opposite": other}), "close_by")
    net = ok(api.trade("EURUSD", "buy", 0.1, account=ids.netting))["ticket"]
    body = refused(
        api.post(f"/positions/{net}/close-by", {"opposite": net}, account=ids.netting), "close_by"
    )
    assert body["allowed"] == {"margin_mode": ["hedging"]}
    assert api.delete("/positions/999999").json()["code"] == "POSITION_NOT_FOUND"
    assert api.delete("/orders/999999").json()["code"] == "ORDER_NOT_FOUND"
