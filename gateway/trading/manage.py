"""Checked MT5 requests that act on open positions and pending orders (nothing is sent here):
SL/TP change, order modify and cancel, (partial) close, close-by."""

from __future__ import annotations

from typing import Any

from gateway import mt5enums as e
from gateway.errors import NotFound
from gateway.terminal.port import Record, TerminalPort
from gateway.trading import rules as r
from gateway.trading.errors import TradeRuleViolation
from gateway.trading.filling import plan
from gateway.trading.prepare import (
    CLOSE_BY,
    DEAL,
    MODIFY,
    REMOVE,
    SLTP,
    Prepared,
    expiration_of,
    load_spec,
    mt5_request,
    require_trader,
    stops_of,
)
from gateway.trading.reconcile import OrderState, PositionStops
from gateway.trading.schemas import OrderModifyBody, PositionStopsBody


async def position(terminal: TerminalPort, ticket: int) -> Record:
    rows = await terminal.positions_get(ticket=ticket)
    if not rows:
        raise NotFound(
            f"Position {ticket} not found among open positions", code="POSITION_NOT_FOUND"
        )
    return rows[0]


async def pending_order(terminal: TerminalPort, ticket: int) -> Record:
    rows = await terminal.orders_get(ticket=ticket)
    if not rows:
        raise NotFound(f"Order {ticket} not found among pending orders", code="ORDER_NOT_FOUND")
    return rows[0]


async def prepare_position_stops(
    terminal: TerminalPort, account: Any, ticket: int, body: PositionStopsBody
) -> Prepared:
    require_trader(account)
    pos = await position(terminal, ticket)
    spec = await load_spec(terminal, pos["symbol"])
    buy = pos["type"] == 0
    sl, tp = stops_of(spec, body, buy=buy, entry=pos["price_open"], current=(pos["sl"], pos["tp"]))
    close_price = spec.bid if buy else spec.ask
    r.check_freeze(
        spec, market=close_price, levels=[pos["sl"], pos["tp"]], what=f"position {ticket}"
    )
    r.check_stops(spec, buy=buy, reference=close_price, sl=sl, tp=tp)
    request = mt5_request(SLTP, symbol=spec.name, position=ticket, sl=sl, tp=tp, magic=pos["magic"])
    return Prepared(
        "position.modify",
        request,
        spec.name,
        e.name(e.POSITION_TYPES, pos["type"]),
        probe=PositionStops(ticket, sl, tp),
        ticket=ticket,
        server_now_s=spec.time,
    )


async def prepare_order_modify(
    terminal: TerminalPort, account: Any, ticket: int, body: OrderModifyBody, basis: Any
) -> Prepared:
    require_trader(account)
    order = await pending_order(terminal, ticket)
    spec = await load_spec(terminal, order["symbol"])
    order_type = int(order["type"])
    buy = order_type in r.BUY_SIDE
    market = spec.ask if buy else spec.bid
    r.check_freeze(spec, market=market, levels=[order["price_open"]], what=f"order {ticket}")
    price = spec.price(body.price) if body.price else float(order["price_open"])
    stoplimit = spec.price(body.stoplimit) if body.stoplimit else float(order["price_stoplimit"])
    if body.price or body.stoplimit:
        r.check_pending_price(spec, order_type, price, stoplimit)
    entry = stoplimit if order_type in r.STOP_LIMIT_KINDS else price
    sl, tp = stops_of(spec, body, buy=buy, entry=entry, current=(order["sl"], order["tp"]))
    r.check_stops(spec, buy=buy, reference=entry, sl=sl, tp=tp)
    if body.expiration is not None:
        type_time, expiration = expiration_of(body.expiration, body.expiration_time, basis)
        r.check_expiration(spec, type_time)
    else:
        type_time, expiration = int(order["type_time"]), int(order["time_expiration"])
    request = mt5_request(
        MODIFY,
        order=ticket,
        symbol=spec.name,
        price=price,
        stoplimit=stoplimit,
        sl=sl,
        tp=tp,
        type_time=type_time,
        expiration=expiration,
    )
    expect = {"price_open": price, "sl": sl, "tp": tp}
    return Prepared(
        "order.modify",
        request,
        spec.name,
        e.name(e.ORDER_TYPES, order_type),
        probe=OrderState(ticket, expect),
        ticket=ticket,
        server_now_s=spec.time,
    )


async def prepare_cancel(terminal: TerminalPort, account: Any, ticket: int) -> Prepared:
    require_trader(account)
    order = await pending_order(terminal, ticket)
    spec = await load_spec(terminal, order["symbol"])
    market = spec.ask if order["type"] in r.BUY_SIDE else spec.bid
    r.check_freeze(spec, market=market, levels=[order["price_open"]], what=f"order {ticket}")
    request = mt5_request(REMOVE, order=ticket)
    return Prepared(
        "order.cancel",
        request,
        spec.name,
        e.name(e.ORDER_TYPES, order["type"]),
        probe=OrderState(ticket, None),
        ticket=ticket,
        server_now_s=spec.time,
    )


async def prepare_close(
    terminal: TerminalPort,
    account: Any,
    ticket: int,
    volume: float | None,
    deviation: int,
    pos: Record | None = None,
) -> Prepared:
    require_trader(account)
    pos = pos or await position(terminal, ticket)
    spec = await load_spec(terminal, pos["symbol"])
    r.check_trade_mode(spec, buy=pos["type"] == 1, opens=False)
    held = float(pos["volume"])
    if volume is None:
        volume = held
    else:
        volume, _ = r.check_volume(spec, volume, round_to_step=False)
        if volume > held + r.EPS:
            raise TradeRuleViolation(
                "close_volume",
                f"volume {volume:g} exceeds the position's {held:g}",
                allowed={"max": held, "step": spec.volume_step},
            )
    close_type = 1 if pos["type"] == 0 else 0
    price = spec.bid if close_type == 1 else spec.ask
    fill = plan(spec, order_type=close_type, pending=False, requested=None, strict=False)
    request = mt5_request(
        DEAL,
        symbol=spec.name,
        volume=volume,
        type=close_type,
        price=price,
        position=ticket,
        deviation=deviation,
        magic=pos["magic"],
    )
    return Prepared(
        "position.close",
        request,
        spec.name,
        e.name(e.POSITION_TYPES, pos["type"]),
        fill,
        ticket=ticket,
        server_now_s=spec.time,
    )


async def prepare_close_by(
    terminal: TerminalPort, account: Any, ticket: int, opposite: int
) -> Prepared:
    require_trader(account)
    info = await terminal.account_info()
    if int(info["margin_mode"]) != 2:
        raise TradeRuleViolation(
            "close_by",
            "close-by needs a hedging account",
            allowed={"margin_mode": ["hedging"]},
        )
    first, other = await position(terminal, ticket), await position(terminal, opposite)
    if first["symbol"] != other["symbol"] or first["type"] == other["type"]:
        raise TradeRuleViolation(
            "close_by",
            "close-by needs two opposite positions on the same symbol",
            allowed={"symbol": first["symbol"], "type": "sell" if first["type"] == 0 else "buy"},
        )
    spec = await load_spec(terminal, first["symbol"])
    request = mt5_request(
        CLOSE_BY, symbol=spec.name, position=ticket, position_by=opposite, magic=first["magic"]
    )
    return Prepared(
        "position.close_by",
        request,
        spec.name,
        e.name(e.POSITION_TYPES, first["type"]),
        ticket=ticket,
        server_now_s=spec.time,
    )
