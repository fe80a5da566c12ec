"""Every order type and action end to end, with the history rows they leave."""

from __future__ import annotations

from datetime import UTC, datetime

from trading_support import FROZEN_MS, Accounts, Api, ok

SEED_TRADE_FIELDS = {"success", "ticket", "price", "volume", "symbol", "type"}
NORMALIZED = {
    "retcode",
    "retcode_name",
    "message",
    "order",
    "deal",
    "position",
    "price",
    "volume",
    "filling",
    "request_id",
}


def test_market_buy_matches_the_seed_contract_and_leaves_history(api: Api) -> None:
    body = ok(api.trade("EURUSD", "buy", 0.1, stop_loss=None, take_profit=None))
    assert body.keys() >= SEED_TRADE_FIELDS | NORMALIZED
    assert body["success"] is True and body["symbol"] == "EURUSD" and body["type"] == "buy"
    assert body["volume"] == 0.1 and body["retcode"] == 10009 and body["retcode_name"] == "done"
    assert body["filling"] == "fok" and body["client_id"].startswith("gw")
    (position,) = api.positions()
    assert position["ticket"] == body["ticket"] == body["position"]
    assert position["comment"].startswith(body["client_id"])
    (order,) = api.orders_with(body["client_id"])
    assert order["ticket"] == body["order"] and order["state"] == "filled"
    assert order["reason"] == "expert" and order["type_filling"] == "fok"
    (deal,) = api.history_deals(order=body["order"])
    assert deal["ticket"] == body["deal"] and deal["entry"] == "in" and deal["volume"] == 0.1


def test_market_sell_with_sl_tp_prices_magic_and_comment(api: Api) -> None:
    body = ok(
        api.trade(
            "EURUSD",
            "sell",
            0.2,
            magic=77,
            comment="my strategy rocks hard",
            stop_loss_points=300,
            take_profit_points=500,
        )
    )
    (position,) = api.positions()
    assert position["type"] == "sell" and position["magic"] == 77
    assert position["sl"] > body["price"] > position["tp"] > 0
    assert round((position["sl"] - body["price"]) / 0.00001) == 300
    assert position["comment"] == f"{body['client_id']} my strategy rocks"[:29]


def test_stop_loss_and_take_profit_as_prices(api: Api) -> None:
    first = ok(api.trade("EURUSD", "buy", 0.1))
    sl, tp = round(first["price"] - 0.005, 5), round(first["price"] + 0.005, 5)
    body = ok(api.trade("EURUSD", "buy", 0.1, stop_loss=sl, take_profit=tp))
    position = next(p for p in api.positions() if p["ticket"] == body["ticket"])
    assert (position["sl"], position["tp"]) == (sl, tp)


def test_pending_orders_of_every_kind_are_placed_with_201(api: Api) -> None:
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    kinds = {
        "buy_limit": {"price": round(price - 0.002, 5)},
        "sell_limit": {"price": round(price + 0.002, 5)},
        "buy_stop": {"price": round(price + 0.002, 5)},
        "sell_stop": {"price": round(price - 0.002, 5)},
        "buy_stop_limit": {"price": round(price + 0.002, 5), "stoplimit": round(price + 0.001, 5)},
        "sell_stop_limit": {"price": round(price - 0.002, 5), "stoplimit": round(price - 0.001, 5)},
    }
    tickets = {}
    for kind, prices in kinds.items():
        r = api.post("/orders", {"symbol": "EURUSD", "order_type": kind, "volume": 0.1, **prices})
        body = ok(r, 201)
        assert body["type"] == kind and body["ticket"] == body["order"] > 0 and body["deal"] == 0
        tickets[kind] = body["ticket"]
    open_orders = {o["ticket"]: o for o in api.orders()}
    for kind, ticket in tickets.items():
        assert open_orders[ticket]["type"] == kind and open_orders[ticket]["state"] == "placed"
    stop_limit = open_orders[tickets["buy_stop_limit"]]
    assert stop_limit["price_stoplimit"] == kinds["buy_stop_limit"]["stoplimit"]


def test_pending_expirations_gtc_day_specified(api: Api) -> None:
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    base = {
        "symbol": "EURUSD",
        "order_type": "buy_limit",
        "volume": 0.1,
        "price": round(price - 0.003, 5),
    }
    gtc = ok(api.post("/orders", {**base, "expiration": "gtc"}), 201)
    day = ok(api.post("/orders", {**base, "expiration": "day"}), 201)
    when = datetime.fromtimestamp(FROZEN_MS / 1000 + 3 * 3600, UTC)
    spec = ok(
        api.post(
            "/orders", {**base, "expiration": "specified", "expiration_time": when.isoformat()}
        ),
        201,
    )
    rows = {o["ticket"]: o for o in api.orders()}
    assert rows[gtc["ticket"]]["type_time"] == "gtc" and rows[gtc["ticket"]]["time_expiration"] == 0
    assert rows[day["ticket"]]["type_time"] == "day"
    assert rows[spec["ticket"]]["type_time"] == "specified"
    assert rows[spec["ticket"]]["time_expiration"] == int(when.timestamp())  # UTC in, UTC out


def test_modify_position_sl_tp_with_patch_and_put(api: Api) -> None:
    body = ok(api.trade("EURUSD", "buy", 0.1))
    ticket, price = body["ticket"], body["price"]
    sl = round(price - 0.004, 5)
    r = ok(api.patch(f"/positions/{ticket}", {"stop_loss": sl}))
    assert r["success"] and r["retcode"] == 10009 and r["ticket"] == ticket
    (pos,) = api.positions(ticket=ticket)
    assert pos["sl"] == sl and pos["tp"] == 0
    ok(api.put(f"/positions/{ticket}", {"take_profit_points": 400}))
    (pos,) = api.positions(ticket=ticket)
    assert pos["sl"] == sl and round((pos["tp"] - pos["price_open"]) / 0.00001) == 400
    ok(api.patch(f"/positions/{ticket}", {"stop_loss": 0}))
    assert api.positions(ticket=ticket)[0]["sl"] == 0


def test_modify_pending_order_price_sl_tp_expiration(api: Api) -> None:
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    placed = ok(
        api.post(
            "/orders",
            {
                "symbol": "EURUSD",
                "order_type": "buy_limit",
                "volume": 0.1,
                "price": round(price - 0.003, 5),
            },
        ),
        201,
    )
    ticket = placed["ticket"]
    new_price = round(price - 0.004, 5)
    r = ok(
        api.patch(
            f"/orders/{ticket}", {"price": new_price, "stop_loss_points": 200, "expiration": "day"}
        )
    )
    assert r["success"]
    (order,) = api.orders(ticket=ticket)
    assert order["price_open"] == new_price and order["type_time"] == "day"
    assert round((new_price - order["sl"]) / 0.00001) == 200


def test_cancel_pending_order(api: Api) -> None:
    price = ok(api.trade("EURUSD", "buy", 0.01))["price"]
    placed = ok(
        api.post(
            "/orders",
            {
                "symbol": "EURUSD",
                "order_type": "sell_limit",
                "volume": 0.1,
                "price": round(price + 0.003, 5),
            },
        ),
        201,
    )
    r = ok(api.delete(f"/orders/{placed['ticket']}"))
    assert r["success"] and r["ticket"] == placed["ticket"]
    assert api.orders(ticket=placed["ticket"]) == []
    (row,) = api.history_orders(ticket=placed["ticket"])
    assert row["state"] == "canceled"


def test_close_full_and_partial_keep_the_seed_answer(api: Api) -> None:
    opened = ok(api.trade("EURUSD", "buy", 0.5))
    ticket = opened["ticket"]
    part = ok(api.delete(f"/positions/{ticket}", params={"volume": 0.2}))
    assert {"success", "ticket", "volume", "price"} <= part.keys()
    assert part["success"] and part["ticket"] == ticket and part["volume"] == 0.2
    (pos,) = api.positions(ticket=ticket)
    assert pos["volume"] == 0.3  # same ticket, less volume
    full = ok(api.delete(f"/positions/{ticket}"))
    assert full["volume"] == 0.3 and api.positions() == []
    deals = api.history_deals(position=ticket)
    assert [(d["entry"], d["volume"]) for d in deals] == [("in", 0.5), ("out", 0.2), ("out", 0.3)]


def test_close_by_opposite_position(api: Api) -> None:
    buy = ok(api.trade("EURUSD", "buy", 0.3))["ticket"]
    sell = ok(api.trade("EURUSD", "sell", 0.1))["ticket"]
    r = ok(api.post(f"/positions/{buy}/close-by", {"opposite": sell}))
    assert r["success"] and r["retcode"] == 10009
    (left,) = api.positions()
    assert left["ticket"] == buy and left["volume"] == 0.2
    entries = {d["entry"] for d in api.history_deals(position=sell)}
    assert "out_by" in entries


def test_close_all_by_symbol_then_account(api: Api) -> None:
    for symbol in ("EURUSD", "EURUSD", "USDJPY"):
        ok(api.trade(symbol, "buy", 0.1))
    r = ok(api.post("/positions/close-all", {"symbol": "EURUSD"}))
    assert r["success"] and r["closed"] == 2 and len(r["results"]) == 2
    assert [p["symbol"] for p in api.positions()] == ["USDJPY"]
    r = ok(api.post("/positions/close-all", {}))
    assert r["closed"] == 1 and api.positions() == []


def test_order_check_reports_margin(api: Api) -> None:
    r = ok(api.post("/trades/check", {"symbol": "EURUSD", "order_type": "buy", "volume": 1.0}))
    assert r["success"] and r["retcode"] == 0 and r["margin"] > 0 and r["filling"] == "fok"
    assert api.positions() == []  # nothing was sent


def test_netting_account_reduces_and_reverses(api: Api, ids: Accounts) -> None:
    netting = ids.netting
    opened = ok(api.trade("EURUSD", "buy", 0.3, account=netting))
    more = ok(api.trade("EURUSD", "sell", 0.5, account=netting))
    assert more["position"] == opened["position"]  # one position per symbol
    (pos,) = ok(api.get("/positions", account=netting))["positions"]
    assert pos["type"] == "sell" and round(pos["volume"], 2) == 0.2
    deals = ok(api.get("/history/deals", params={"order": more["order"]}, account=netting))
    assert deals["deals"][0]["entry"] == "inout"
    assert api.positions() == []  # the hedging account saw none of it
