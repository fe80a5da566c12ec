"""The trading engine against the real Market with a frozen clock and pushed prices."""

from __future__ import annotations

import dataclasses

import pytest

from simulator import constants as c
from simulator.broker import Broker
from simulator.catalog import DEMO_SEED, demo_servers
from simulator.clock import SimClock
from simulator.market import Market
from simulator.structs import TradeRequest

WEDNESDAY_UTC_MS = 1_704_888_000_000  # 2024-01-10 12:00 UTC = 14:00 Sim-Demo server time
SATURDAY_UTC_MS = WEDNESDAY_UTC_MS + 3 * 86_400_000
HEDGE, EUR_HEDGE, NET = 10001, 10002, 10003


def make_broker(**account_changes: object) -> tuple[Broker, SimClock]:
    clock = SimClock()
    clock.freeze(WEDNESDAY_UTC_MS)
    server = demo_servers()[0]
    market = Market(DEMO_SEED, server.symbols, clock, server.utc_offset_s)
    broker = Broker(server, market)
    broker.add_accounts(dataclasses.replace(a, **account_changes) for a in server.accounts)
    return broker, clock


@pytest.fixture
def broker() -> Broker:
    return make_broker()[0]


def req(action: int = c.TRADE_ACTION_DEAL, **fields: object) -> dict[str, object]:
    """All 17 request fields, as the api layer hands them to the broker."""
    return {**TradeRequest(action=action)._asdict(), **fields}


def send(b: Broker, login: int = HEDGE, **fields: object):
    """A request as a bot sends it: a market deal carries the current price (Instant and
    Request execution need one) unless the test gives one."""
    action = fields.get("action", c.TRADE_ACTION_DEAL)
    if action == c.TRADE_ACTION_DEAL and "price" not in fields and b.symbol(fields["symbol"]):
        tick = b.tick_info(fields["symbol"])
        buying = fields.get("type", c.ORDER_TYPE_BUY) == c.ORDER_TYPE_BUY
        fields["price"] = tick.ask if buying else tick.bid
    return b.order_send(login, req(**fields), investor=False)


def buy(b: Broker, login: int = HEDGE, symbol: str = "EURUSD", volume: float = 0.1, **kw):
    return send(b, login, symbol=symbol, volume=volume, type=c.ORDER_TYPE_BUY, **kw)


def sell(b: Broker, login: int = HEDGE, symbol: str = "EURUSD", volume: float = 0.1, **kw):
    return send(b, login, symbol=symbol, volume=volume, type=c.ORDER_TYPE_SELL, **kw)


def pending(
    b: Broker, order_type: int, price: float, login: int = HEDGE, symbol: str = "EURUSD", **kw
):
    kw.setdefault("type_filling", c.ORDER_FILLING_RETURN)
    return send(
        b,
        login,
        action=c.TRADE_ACTION_PENDING,
        symbol=symbol,
        volume=0.1,
        type=order_type,
        price=price,
        **kw,
    )


def check_buy(b: Broker, login: int = HEDGE, symbol: str = "EURUSD", **fields: object):
    """order_check of a market deal (a buy unless ``type`` says otherwise) at the current price."""
    fields.setdefault("type", c.ORDER_TYPE_BUY)
    tick = b.tick_info(symbol)
    fields.setdefault("price", tick.ask if fields["type"] == c.ORDER_TYPE_BUY else tick.bid)
    return b.order_check(login, req(symbol=symbol, **fields), investor=False)


def everything(b: Broker, login: int, kind: str = "deals"):
    fetch = b.history_deals if kind == "deals" else b.history_orders
    return fetch(login, date_from=0, date_to=2**31 - 1)


# --- accounts -------------------------------------------------------------------------------


def test_accounts_start_with_a_balance_deposit(broker):
    assert broker.authenticate(HEDGE, "demo-10001") == "master"
    assert broker.authenticate(HEDGE, "investor-10001") == "investor"
    assert broker.authenticate(HEDGE, "nope") is None and broker.authenticate(999, "x") is None
    (deposit,) = everything(broker, EUR_HEDGE)
    assert (
        deposit.type,
        deposit.entry,
        deposit.order,
        deposit.position_id,
        deposit.profit,
        deposit.symbol,
    ) == (c.DEAL_TYPE_BALANCE, c.DEAL_ENTRY_IN, 0, 0, 5000.0, "")
    info = broker.account_info(EUR_HEDGE, False)
    assert (
        info.balance,
        info.equity,
        info.margin,
        info.margin_level,
        info.currency,
        info.leverage,
        info.server,
        info.trade_allowed,
    ) == (5000.0, 5000.0, 0.0, 0.0, "EUR", 30, "Sim-Demo", True)


def test_investor_cannot_trade(broker):
    assert broker.account_info(HEDGE, True).trade_allowed is False
    request = req(symbol="EURUSD", volume=0.1)
    sent = broker.order_send(HEDGE, request, investor=True)
    checked = broker.order_check(HEDGE, request, investor=True)
    assert (sent.retcode, sent.comment) == (10017, "Trade disabled")
    assert (checked.retcode, checked.comment) == (10017, "Trade disabled")
    assert broker.positions(HEDGE) == ()


def test_server_forbidding_experts_gives_10026():
    b, _ = make_broker(trade_expert=False)
    assert buy(b).retcode == c.TRADE_RETCODE_SERVER_DISABLES_AT


# --- market deals, history, money ---------------------------------------------------------


def test_market_buy_writes_order_deal_position_and_margin_agrees(broker):
    tick = broker.tick_info("EURUSD")
    check = check_buy(broker, volume=0.1)
    calc = broker.order_calc_margin(HEDGE, c.ORDER_TYPE_BUY, "EURUSD", 0.1, tick.ask)
    assert (check.retcode, check.comment, check.margin) == (0, "Done", calc)
    assert calc == pytest.approx(0.1 * 100_000 / 100 * tick.bid, abs=0.01)  # EUR→USD at bid
    result = buy(broker, magic=42, comment="first")
    assert (result.retcode, result.comment, result.price, result.volume) == (
        10009,
        "Request executed",
        tick.ask,
        0.1,
    )
    assert result.deal == result.order + 1 and result.request_id == 1
    assert send(broker, symbol="EURUSD", volume=0.5).request_id == 2
    (position,) = broker.positions(HEDGE, ticket=result.order)
    assert (
        position.ticket,
        position.identifier,
        position.magic,
        position.reason,
        position.comment,
        position.price_open,
    ) == (result.order, result.order, 42, c.POSITION_REASON_EXPERT, "first", tick.ask)
    (order,) = broker.history_orders(HEDGE, ticket=result.order)
    assert (order.state, order.type, order.reason, order.position_id, order.magic) == (
        c.ORDER_STATE_FILLED,
        c.ORDER_TYPE_BUY,
        c.ORDER_REASON_EXPERT,
        result.order,
        42,
    )
    (deal,) = broker.history_deals(HEDGE, ticket=result.order)
    assert (
        deal.ticket,
        deal.entry,
        deal.type,
        deal.reason,
        deal.position_id,
        deal.magic,
        deal.comment,
        deal.price,
    ) == (
        result.deal,
        c.DEAL_ENTRY_IN,
        c.DEAL_TYPE_BUY,
        c.DEAL_REASON_EXPERT,
        result.order,
        42,
        "first",
        tick.ask,
    )
    info = broker.account_info(HEDGE, False)
    bigger = broker.order_calc_margin(HEDGE, c.ORDER_TYPE_BUY, "EURUSD", 0.5, tick.ask)
    assert info.margin == pytest.approx(check.margin + bigger, abs=0.011)
    assert info.profit == pytest.approx(sum(p.profit for p in broker.positions(HEDGE)))
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)


def test_order_check_changes_nothing_and_predicts_the_send(broker):
    before = check_buy(broker, volume=1.0)
    assert broker.positions(HEDGE) == () and len(everything(broker, HEDGE)) == 1
    buy(broker, volume=1.0)
    info = broker.account_info(HEDGE, False)
    (position,) = broker.positions(HEDGE)
    assert info.margin == before.margin
    # The check does not count the new position's spread; the account then does.
    assert (before.equity, before.margin_free) == (10_000.0, 10_000.0 - before.margin)
    assert info.equity == pytest.approx(before.equity + position.profit)
    assert info.margin_free == pytest.approx(before.margin_free + position.profit)


def test_order_check_of_a_fresh_account_counts_no_profit(broker):
    # The docs' order_check example: a 1-lot USDJPY buy on a fresh 10,000 USD account.
    tick = broker.tick_info("USDJPY")
    request = req(symbol="USDJPY", volume=1.0, type=c.ORDER_TYPE_BUY, price=tick.ask,
                  deviation=20, type_filling=c.ORDER_FILLING_FOK)  # fmt: skip
    check = broker.order_check(HEDGE, request, investor=False)
    margin = broker.order_calc_margin(HEDGE, c.ORDER_TYPE_BUY, "USDJPY", 1.0, tick.ask)
    assert (check.retcode, check.comment) == (0, "Done")
    assert (check.balance, check.equity, check.profit) == (10_000.0, 10_000.0, 0.0)
    assert (check.margin, check.margin_free) == (margin, round(10_000.0 - margin, 2))
    assert check.margin_level == pytest.approx(10_000.0 / margin * 100, abs=0.01)
    opened = buy(broker, symbol="USDJPY", volume=1.0)
    second = check_buy(broker, symbol="USDJPY", volume=1.0)
    (position,) = broker.positions(HEDGE)
    assert position.ticket == opened.order and position.profit < 0  # the spread
    assert (second.balance, second.profit) == (10_000.0, position.profit)
    assert second.equity == pytest.approx(10_000.0 + position.profit)
    assert second.margin == pytest.approx(2 * margin, abs=0.02)


def test_order_check_of_a_close_moves_the_profit_to_the_balance(broker):
    opened = buy(broker, volume=1.0)
    broker.market.push_price("EURUSD", 1.25, 1.2501)
    (position,) = broker.positions(HEDGE)
    check = check_buy(broker, volume=1.0, type=c.ORDER_TYPE_SELL, position=opened.order)
    assert (check.retcode, check.margin, check.profit) == (0, 0.0, 0.0)
    assert check.balance == check.equity == pytest.approx(10_000.0 + position.profit)


def test_partial_and_full_close_realise_profit(broker):
    opened = buy(broker, volume=0.3)
    broker.market.push_price("EURUSD", 1.25000, 1.25010)
    expected = broker.order_calc_profit(
        HEDGE, c.ORDER_TYPE_BUY, "EURUSD", 0.1, opened.price, 1.25000
    )
    part = sell(broker, volume=0.1, position=opened.order)
    assert (part.retcode, part.price) == (10009, 1.25)
    (position,) = broker.positions(HEDGE)
    assert (position.ticket, position.volume) == (opened.order, 0.2)
    deal = broker.history_deals(HEDGE, ticket=part.order)[0]
    assert (deal.entry, deal.type, deal.position_id, deal.profit) == (
        c.DEAL_ENTRY_OUT,
        c.DEAL_TYPE_SELL,
        opened.order,
        expected,
    )
    assert sell(broker, volume=0.3, position=opened.order).retcode == 10038
    assert sell(broker, volume=0.2, position=opened.order).retcode == 10009
    assert broker.positions(HEDGE) == ()
    assert broker.account_info(HEDGE, False).balance == pytest.approx(10000 + 3 * expected)
    assert [d.entry for d in broker.history_deals(HEDGE, position=opened.order)] == [0, 1, 1]
    assert sell(broker, position=opened.order).retcode == c.TRADE_RETCODE_POSITION_CLOSED
    assert sell(broker, position=12345).retcode == c.TRADE_RETCODE_INVALID
    assert buy(broker, position=buy(broker).order).retcode == c.TRADE_RETCODE_INVALID


def test_hedging_opens_an_opposite_position_without_position_field(broker):
    first, second = buy(broker), sell(broker)
    assert {p.ticket for p in broker.positions(HEDGE)} == {first.order, second.order}
    margin = broker.account_info(HEDGE, False).margin
    single = broker.order_calc_margin(HEDGE, 0, "EURUSD", 0.1, first.price)
    assert margin == pytest.approx(single, abs=0.02)  # margin_hedged 50000: half per leg


def test_netting_reduces_and_reverses_with_inout(broker):
    first = buy(broker, NET, volume=0.3)
    reduce = sell(broker, NET, volume=0.1)
    (position,) = broker.positions(NET)
    assert (position.ticket, position.type, position.volume) == (first.order, 0, 0.2)
    reverse = sell(broker, NET, volume=0.5)
    (position,) = broker.positions(NET)
    assert (
        position.ticket,
        position.identifier,
        position.type,
        position.volume,
        position.price_open,
    ) == (first.order, first.order, 1, 0.3, reverse.price)
    entries = [
        (d.order, d.entry, d.volume, d.position_id)
        for d in broker.history_deals(NET, position=first.order)
    ]
    assert entries == [
        (first.order, 0, 0.3, first.order),
        (reduce.order, 1, 0.1, first.order),
        (reverse.order, 2, 0.5, first.order),
    ]
    grow = sell(broker, NET, volume=0.1)
    assert broker.positions(NET)[0].volume == 0.4 and grow.retcode == 10009
    assert buy(broker, NET, volume=0.4).retcode == 10009 and broker.positions(NET) == ()


def test_eur_account_converts_margin_and_profit(broker):
    tick = broker.tick_info("EURUSD")
    margin = broker.order_calc_margin(EUR_HEDGE, 0, "EURUSD", 1.0, tick.ask)
    assert margin == pytest.approx(100_000 / 30, abs=0.01)  # margin currency is EUR already
    profit_usd = broker.order_calc_profit(HEDGE, 0, "EURUSD", 1.0, 1.2, 1.21)
    profit_eur = broker.order_calc_profit(EUR_HEDGE, 0, "EURUSD", 1.0, 1.2, 1.21)
    assert profit_usd == pytest.approx(1000.0)
    assert profit_eur == round(1000.0 / 1.21, 2)  # EUR is the base: at the close price
    jpy = broker.order_calc_profit(EUR_HEDGE, 0, "USDJPY", 1.0, 100.0, 101.0)
    usdjpy, eurusd = broker.tick_info("USDJPY"), tick
    assert jpy == pytest.approx(100_000 / usdjpy.ask / eurusd.ask, rel=1e-3)  # JPY→USD→EUR
    opened = buy(broker, EUR_HEDGE, volume=1.0)
    assert broker.account_info(EUR_HEDGE, False).margin == pytest.approx(margin, abs=0.01)
    broker.market.push_price("EURUSD", opened.price + 0.01, opened.price + 0.0101)
    (position,) = broker.positions(EUR_HEDGE)
    assert position.profit == round(1000 / (opened.price + 0.01), 2)  # closes at that bid


def test_calc_profit_converts_at_the_close_price(broker):
    # The docs' order_calc_profit sample on a USD account: 1 lot, 300 points of USDJPY from
    # ask 108.183 (buy) and bid 108.179 (sell) make 276.54 and 278.09 USD.
    buy_profit = broker.order_calc_profit(HEDGE, c.ORDER_TYPE_BUY, "USDJPY", 1.0, 108.183, 108.483)
    sell_profit = broker.order_calc_profit(
        HEDGE, c.ORDER_TYPE_SELL, "USDJPY", 1.0, 108.179, 107.879
    )
    assert (buy_profit, sell_profit) == (276.54, 278.09)
    eurusd = broker.order_calc_profit(HEDGE, c.ORDER_TYPE_SELL, "EURUSD", 1.0, 1.1, 1.097)
    assert eurusd == 300.0  # profit already in the account currency


# --- rules ----------------------------------------------------------------------------------


def test_filling_policy_matrix(broker):
    fok, ioc, ret, boc = (
        c.ORDER_FILLING_FOK,
        c.ORDER_FILLING_IOC,
        c.ORDER_FILLING_RETURN,
        c.ORDER_FILLING_BOC,
    )
    cases = [
        ("EURUSD.ecn", fok, 10009),  # Market execution, FOK|IOC
        ("EURUSD.ecn", ioc, 10009),
        ("EURUSD.ecn", ret, 10030),
        ("EURUSD.ecn", boc, 10030),
        ("AUDUSD", ioc, 10030),  # Market execution, FOK only
        ("AUDUSD", fok, 10009),
        ("USDCHF", fok, 10030),  # Market execution, IOC only
        ("USDCHF", ioc, 10009),
        ("EURUSD", ret, 10009),  # Instant execution: any policy, filled FOK
        ("USDJPY", ret, 10009),
        ("EURUSD.m", ioc, 10009),
        ("GBPJPY", boc, 10009),
    ]
    for symbol, filling, code in cases:
        volume = 0.1 if symbol == "AUDUSD" else 0.01
        result = buy(broker, symbol=symbol, volume=volume, type_filling=filling)
        assert (symbol, filling, result.retcode) == (symbol, filling, code)
    refused = check_buy(broker, symbol="EURUSD.ecn", volume=0.1, type_filling=ret)
    assert (refused.retcode, refused.comment) == (10030, "Unsupported filling mode")
    filled = {o.symbol: o.type_filling for o in everything(broker, HEDGE, "orders")}
    assert filled["EURUSD"] == filled["USDJPY"] == filled["GBPJPY"] == fok
    gold = broker.tick_info("XAUUSD")  # instant execution ignores the policy
    assert buy(broker, symbol="XAUUSD", price=gold.ask, type_filling=ret).retcode == 10009


def test_instant_execution_requotes_beyond_deviation(broker):
    gold = broker.tick_info("XAUUSD")
    far = buy(broker, symbol="XAUUSD", price=gold.ask - 0.50, deviation=10)
    assert (far.retcode, far.comment, far.bid, far.ask, far.deal) == (
        10004,
        "Requote",
        gold.bid,
        gold.ask,
        0,
    )
    near = buy(broker, symbol="XAUUSD", price=round(gold.ask - 0.10, 2), deviation=10)
    assert (near.retcode, near.price) == (10009, gold.ask)
    assert buy(broker, symbol="XAUUSD", price=0.0).retcode == c.TRADE_RETCODE_INVALID_PRICE
    index = broker.tick_info("US500")  # request execution behaves alike
    assert sell(broker, symbol="US500", price=index.bid + 5, deviation=3).retcode == 10004
    assert sell(broker, symbol="US500", price=index.bid).retcode == 10009


def test_volume_trade_mode_and_limits(broker):
    assert buy(broker, volume=0.0).retcode == 10014
    assert buy(broker, volume=0.015).retcode == 10014
    assert buy(broker, volume=101.0).retcode == 10014
    assert buy(broker, symbol="AUDUSD", volume=0.15).retcode == 10014
    assert buy(broker, symbol="USDTRY").retcode == 10017
    assert buy(broker, symbol="EURCHF").retcode == 10044
    assert sell(broker, symbol="XAGUSD").retcode == 10042
    assert buy(broker, symbol="XAGUSD").retcode == 10009
    assert buy(broker, symbol="NOPE").retcode == c.TRADE_RETCODE_INVALID
    assert buy(broker, symbol="EURGBP", volume=4.0).retcode == 10009
    assert buy(broker, symbol="EURGBP", volume=1.5).retcode == 10034  # volume_limit 5
    assert sell(broker, symbol="EURGBP", volume=1.5).retcode == 10009
    assert buy(broker, volume=100.0).retcode == c.TRADE_RETCODE_NO_MONEY
    assert send(broker, action=99, symbol="EURUSD").retcode == c.TRADE_RETCODE_INVALID


def test_market_closed_on_weekend_but_crypto_trades():
    b, _ = make_broker()
    b.market.clock.set(SATURDAY_UTC_MS)
    assert buy(b).retcode == c.TRADE_RETCODE_MARKET_CLOSED
    assert buy(b, symbol="BTCUSD", volume=0.01).retcode == 10009


def test_stops_level_and_side(broker):
    tick = broker.tick_info("GBPUSD")  # stops level 10 points
    assert buy(broker, symbol="GBPUSD", sl=round(tick.bid - 0.00005, 5)).retcode == 10016
    assert buy(broker, symbol="GBPUSD", sl=round(tick.bid + 0.001, 5)).retcode == 10016
    assert sell(broker, symbol="GBPUSD", tp=round(tick.ask + 0.001, 5)).retcode == 10016
    ok = buy(
        broker, symbol="GBPUSD", sl=round(tick.bid - 0.0002, 5), tp=round(tick.bid + 0.0002, 5)
    )
    assert ok.retcode == 10009
    position = broker.positions(HEDGE)[0]
    assert (position.sl, position.tp) == (round(tick.bid - 0.0002, 5), round(tick.bid + 0.0002, 5))


def test_fifo_and_limit_orders():
    b, _ = make_broker(fifo_close=True, limit_orders=1)
    older, newer = buy(b), buy(b)
    assert sell(b, position=newer.order).retcode == c.TRADE_RETCODE_FIFO_CLOSE
    assert sell(b, position=older.order).retcode == 10009
    ask = b.tick_info("EURUSD").ask
    assert pending(b, c.ORDER_TYPE_BUY_LIMIT, round(ask - 0.01, 5)).retcode == 10009
    assert pending(b, c.ORDER_TYPE_BUY_LIMIT, round(ask - 0.02, 5)).retcode == 10033


# --- pending orders and triggers -------------------------------------------------------------


def test_pending_price_side_and_expiration_rules(broker):
    t = broker.tick_info("EURUSD")
    assert pending(broker, c.ORDER_TYPE_BUY_LIMIT, t.ask + 0.001).retcode == 10015
    assert pending(broker, c.ORDER_TYPE_SELL_LIMIT, t.bid - 0.001).retcode == 10015
    assert pending(broker, c.ORDER_TYPE_BUY_STOP, t.ask - 0.001).retcode == 10015
    assert pending(broker, c.ORDER_TYPE_SELL_STOP, t.bid + 0.001).retcode == 10015
    assert pending(broker, c.ORDER_TYPE_BUY, t.ask).retcode == c.TRADE_RETCODE_INVALID_ORDER
    low = round(t.ask - 0.01, 5)
    assert pending(broker, c.ORDER_TYPE_BUY_LIMIT, low, sl=low + 0.001).retcode == 10016
    now_s = broker.market.now_ms() // 1000
    assert (
        pending(
            broker,
            c.ORDER_TYPE_BUY_LIMIT,
            low,
            type_time=c.ORDER_TIME_SPECIFIED,
            expiration=now_s - 1,
        ).retcode
        == 10022
    )
    usdchf = broker.tick_info("USDCHF")  # expiration_mode GTC|DAY only
    assert (
        pending(
            broker,
            c.ORDER_TYPE_BUY_LIMIT,
            round(usdchf.ask - 0.01, 5),
            symbol="USDCHF",
            type_time=c.ORDER_TIME_SPECIFIED,
            expiration=now_s + 3600,
        ).retcode
        == 10022
    )
    assert (
        pending(broker, c.ORDER_TYPE_BUY_LIMIT, low, type_filling=c.ORDER_FILLING_BOC).retcode
        == 10030
    )
    placed = pending(broker, c.ORDER_TYPE_BUY_LIMIT, low, magic=5, comment="dip")
    assert (placed.retcode, placed.deal, placed.volume) == (10009, 0, 0.1)
    (order,) = broker.orders(HEDGE)
    assert (
        order.ticket,
        order.state,
        order.price_open,
        order.magic,
        order.comment,
        order.type_filling,
        order.price_current,
    ) == (placed.order, c.ORDER_STATE_PLACED, low, 5, "dip", c.ORDER_FILLING_RETURN, t.ask)
    assert broker.history_orders(HEDGE, ticket=placed.order) == ()


def test_buy_limit_fires_when_price_reaches_it(broker):
    t = broker.tick_info("EURUSD")
    low = round(t.ask - 0.01, 5)
    placed = pending(broker, c.ORDER_TYPE_BUY_LIMIT, low, magic=9)
    broker.market.push_price("EURUSD", low - 0.0002, low - 0.0001)
    broker.process()
    assert broker.orders(HEDGE) == ()
    (position,) = broker.positions(HEDGE)
    assert (position.ticket, position.price_open, position.magic) == (
        placed.order,
        round(low - 0.0001, 5),
        9,
    )
    (order,) = broker.history_orders(HEDGE, ticket=placed.order)
    assert (order.state, order.type, order.position_id) == (
        c.ORDER_STATE_FILLED,
        c.ORDER_TYPE_BUY_LIMIT,
        placed.order,
    )
    (deal,) = broker.history_deals(HEDGE, ticket=placed.order)
    assert (deal.entry, deal.position_id, deal.reason) == (
        c.DEAL_ENTRY_IN,
        placed.order,
        c.DEAL_REASON_EXPERT,
    )


def test_stop_limit_activation_places_a_limit_order(broker):
    t = broker.tick_info("EURUSD")
    trigger, limit = round(t.ask + 0.002, 5), round(t.ask + 0.001, 5)
    placed = pending(broker, c.ORDER_TYPE_BUY_STOP_LIMIT, trigger, stoplimit=limit)
    assert placed.retcode == 10009
    broker.market.push_price("EURUSD", trigger + 0.0001, trigger + 0.0002)
    (order,) = broker.orders(HEDGE)
    assert (order.type, order.price_open, order.type_filling) == (
        c.ORDER_TYPE_BUY_LIMIT,
        limit,
        c.ORDER_FILLING_RETURN,
    )
    assert broker.history_orders(HEDGE, ticket=placed.order)[0].state == c.ORDER_STATE_FILLED
    broker.market.push_price("EURUSD", limit - 0.0002, limit - 0.0001)
    assert broker.positions(HEDGE)[0].ticket == order.ticket


def test_sl_and_tp_close_positions_with_reason_and_comment(broker):
    t = broker.tick_info("EURUSD")
    sl, tp = round(t.bid - 0.005, 5), round(t.ask - 0.02, 5)
    first = buy(broker, sl=sl)
    second = sell(broker, tp=tp)
    broker.market.push_price("EURUSD", sl - 0.0001, sl)
    broker.process()
    assert [p.ticket for p in broker.positions(HEDGE)] == [second.order]
    closing = [d for d in broker.history_deals(HEDGE, position=first.order) if d.entry == 1]
    (deal,) = closing
    assert (deal.reason, deal.comment, deal.price, deal.type) == (
        c.DEAL_REASON_SL,
        f"[sl {sl:.5f}]",
        round(sl - 0.0001, 5),
        c.DEAL_TYPE_SELL,
    )
    (order,) = broker.history_orders(HEDGE, ticket=deal.order)
    assert (order.reason, order.comment, order.position_id) == (
        c.ORDER_REASON_SL,
        f"[sl {sl:.5f}]",
        first.order,
    )
    broker.market.push_price("EURUSD", round(tp - 0.0003, 5), round(tp - 0.0001, 5))
    assert broker.positions(HEDGE) == ()
    (tp_deal,) = [d for d in broker.history_deals(HEDGE, position=second.order) if d.entry == 1]
    assert (tp_deal.reason, tp_deal.comment, tp_deal.price, tp_deal.type) == (
        c.DEAL_REASON_TP,
        f"[tp {tp:.5f}]",
        round(tp - 0.0001, 5),
        c.DEAL_TYPE_BUY,
    )
    assert tp_deal.profit == broker.order_calc_profit(
        HEDGE, c.ORDER_TYPE_SELL, "EURUSD", 0.1, second.price, tp_deal.price
    )


def test_orders_expire_with_state_expired():
    b, clock = make_broker()
    t = b.tick_info("EURUSD")
    now_s = b.market.now_ms() // 1000
    placed = pending(
        b,
        c.ORDER_TYPE_BUY_LIMIT,
        round(t.ask - 0.05, 5),
        type_time=c.ORDER_TIME_SPECIFIED,
        expiration=now_s + 600,
    )
    (order,) = b.orders(HEDGE)
    assert order.time_expiration == now_s + 600
    clock.advance(599_000)
    assert len(b.orders(HEDGE)) == 1
    clock.advance(2_000)
    assert b.orders(HEDGE) == ()
    (done,) = b.history_orders(HEDGE, ticket=placed.order)
    assert (done.state, done.time_done) == (c.ORDER_STATE_EXPIRED, now_s + 600)


def test_modify_remove_and_freeze(broker):
    t = broker.tick_info("EURUSD")
    low = round(t.ask - 0.01, 5)
    placed = pending(broker, c.ORDER_TYPE_BUY_LIMIT, low)
    modify = {"action": c.TRADE_ACTION_MODIFY, "order": placed.order}
    assert send(broker, **modify, price=low).retcode == c.TRADE_RETCODE_NO_CHANGES
    assert send(broker, **modify, price=t.ask + 0.01).retcode == 10015
    moved = send(broker, **modify, price=round(low - 0.001, 5), sl=round(low - 0.01, 5))
    assert moved.retcode == 10009
    assert broker.orders(HEDGE)[0].price_open == round(low - 0.001, 5)
    removed = send(broker, action=c.TRADE_ACTION_REMOVE, order=placed.order)
    assert (removed.retcode, removed.order) == (10009, placed.order)
    assert broker.history_orders(HEDGE, ticket=placed.order)[0].state == c.ORDER_STATE_CANCELED
    assert send(broker, action=c.TRADE_ACTION_REMOVE, order=placed.order).retcode == 10013
    gbp = broker.tick_info("GBPUSD")  # stops 10, freeze 5 points
    near = pending(broker, c.ORDER_TYPE_BUY_LIMIT, round(gbp.ask - 0.00012, 5), symbol="GBPUSD")
    assert near.retcode == 10009
    broker.market.push_price("GBPUSD", round(gbp.bid - 0.00009, 5), round(gbp.ask - 0.00009, 5))
    assert send(broker, action=c.TRADE_ACTION_REMOVE, order=near.order).retcode == 10029


def test_sltp_on_positions(broker):
    opened = buy(broker)
    t = broker.tick_info("EURUSD")
    sltp = {"action": c.TRADE_ACTION_SLTP, "symbol": "EURUSD", "position": opened.order}
    assert send(broker, **sltp).retcode == c.TRADE_RETCODE_NO_CHANGES
    assert send(broker, **sltp, sl=t.bid + 0.001).retcode == 10016
    assert send(broker, **sltp, sl=round(t.bid - 0.001, 5)).retcode == 10009
    assert broker.positions(HEDGE)[0].sl == round(t.bid - 0.001, 5)
    assert send(broker, **sltp, sl=round(t.bid - 0.001, 5)).retcode == 10025
    sell(broker, position=opened.order)
    assert send(broker, **sltp, sl=0.5).retcode == c.TRADE_RETCODE_POSITION_CLOSED


def test_close_by_on_hedging_only(broker):
    big, small = buy(broker, volume=0.3), sell(broker, volume=0.1)
    result = send(
        broker, action=c.TRADE_ACTION_CLOSE_BY, position=big.order, position_by=small.order
    )
    assert (result.retcode, result.volume) == (10009, 0.1)
    (left,) = broker.positions(HEDGE)
    assert (left.ticket, left.volume) == (big.order, 0.2)
    deals = broker.history_deals(HEDGE, ticket=result.order)
    assert [(d.entry, d.position_id, d.volume) for d in deals] == [
        (c.DEAL_ENTRY_OUT_BY, big.order, 0.1),
        (c.DEAL_ENTRY_OUT_BY, small.order, 0.1),
    ]
    assert [d.price for d in deals] == [small.price, big.price]
    (order,) = broker.history_orders(HEDGE, ticket=result.order)
    assert (order.type, order.position_id, order.position_by_id) == (
        c.ORDER_TYPE_CLOSE_BY,
        big.order,
        small.order,
    )
    again = send(
        broker, action=c.TRADE_ACTION_CLOSE_BY, position=big.order, position_by=small.order
    )
    assert again.retcode == c.TRADE_RETCODE_POSITION_CLOSED
    net = buy(broker, NET)
    assert (
        send(
            broker, NET, action=c.TRADE_ACTION_CLOSE_BY, position=net.order, position_by=net.order
        ).retcode
        == c.TRADE_RETCODE_INVALID
    )


def test_filters_by_symbol_group_and_ticket(broker):
    eur, jpy = buy(broker), buy(broker, symbol="USDJPY")
    assert [p.symbol for p in broker.positions(HEDGE, group="*,!*JPY*")] == ["EURUSD"]
    assert [p.ticket for p in broker.positions(HEDGE, symbol="USDJPY")] == [jpy.order]
    assert broker.positions(HEDGE, ticket=eur.order, symbol="USDJPY")[0].ticket == eur.order
    assert broker.positions(HEDGE, symbol="FAKE") == ()
    deals = broker.history_deals(HEDGE, date_from=0, date_to=2**31 - 1, group="USD*")
    assert [d.order for d in deals] == [jpy.order]
    now_s = broker.market.now_ms() // 1000
    assert len(broker.history_deals(HEDGE, date_from=now_s, date_to=now_s)) == 2
    assert len(broker.history_orders(HEDGE, date_from=now_s + 1, date_to=now_s + 9)) == 0


def test_symbol_info_is_live(broker):
    info = broker.symbol_info("EURUSD", True)
    tick = broker.tick_info("EURUSD")
    assert (info.bid, info.ask, info.time, info.filling_mode, info.trade_exemode) == (
        tick.bid,
        tick.ask,
        tick.time,
        1,
        c.SYMBOL_TRADE_EXECUTION_INSTANT,
    )
    assert info.bidlow <= info.bid <= info.bidhigh and info.trade_tick_value == pytest.approx(1.0)
    broker.market.push_price("EURUSD", 1.3, 1.3001)
    assert broker.symbol_info("EURUSD", False).bid == 1.3


def test_triggers_survive_a_long_clock_jump():
    b, clock = make_broker()
    t = b.tick_info("EURUSD")
    far = pending(b, c.ORDER_TYPE_BUY_STOP, round(t.ask + 0.5, 5))  # never reached
    clock.advance(20 * 86_400_000)
    assert [o.ticket for o in b.orders(HEDGE)] == [far.order]
