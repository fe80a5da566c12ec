"""One handler per TRADE_ACTION_*: validate the request rule by rule, then execute it.

A handler works on a ``Trade`` (the request, a ledger over a *copy* of the account and the
current quotes) and returns a retcode. The broker commits the copy only when the handler
answered DONE and the account can afford the result (``simulator/broker.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator import constants as c
from simulator import flags as f
from simulator import trading_rules as rules
from simulator.broker_exec import Ledger
from simulator.broker_state import AccountState, Position, is_buy
from simulator.specs import SymbolSpec

DONE = c.TRADE_RETCODE_DONE
PENDING_TYPES = range(c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT + 1)


@dataclass
class Trade:
    ledger: Ledger
    request: dict[str, Any]
    symbols: Callable[[str], SymbolSpec | None]
    quote: Callable[[str], tuple[float, float] | None]
    in_session: Callable[[SymbolSpec], bool]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> AccountState:
        return self.ledger.state

    def market(self, spec: SymbolSpec) -> int | tuple[float, float]:
        """Session and quote checks; the (bid, ask) pair when trading is possible."""
        if not self.in_session(spec):
            return c.TRADE_RETCODE_MARKET_CLOSED
        bid, ask = self.quote(spec.name) or (0.0, 0.0)
        self.result.update(bid=bid, ask=ask)
        return rules.check_quote(bid, ask) or (bid, ask)


def _first(*checks: Callable[[], int | None]) -> int | None:
    for check in checks:
        code = check()
        if code:
            return code
    return None


def find_position(state: AccountState, ticket: int) -> Position | int:
    if ticket in state.positions:
        return state.positions[ticket]
    if ticket in state.closed_positions:
        return c.TRADE_RETCODE_POSITION_CLOSED
    return c.TRADE_RETCODE_INVALID


# --- TRADE_ACTION_DEAL -------------------------------------------------------------------


def _deal_target(
    t: Trade, spec: SymbolSpec, buy: bool, volume: float
) -> tuple[Position | None, bool | None] | int:
    """The position a deal closes (or None) and the direction it opens (None = closing)."""
    state, ticket = t.state, t.request["position"]
    target: Position | None = None
    if ticket:
        found = find_position(state, ticket)
        if isinstance(found, int):
            return found
        if found.symbol != spec.name or (found.type == c.POSITION_TYPE_BUY) == buy:
            return c.TRADE_RETCODE_INVALID
        if volume > found.volume + rules.EPS:
            return c.TRADE_RETCODE_INVALID_CLOSE_VOLUME
        code = rules.check_fifo(state, found)
        if code:
            return code
        target = found
    if state.hedging:
        return target, None if target else buy
    existing = next(iter(state.symbol_positions(spec.name)), None)
    if existing is None or (existing.type == c.POSITION_TYPE_BUY) == buy:
        return target, buy
    return target, buy if volume > existing.volume + rules.EPS else None


def deal(t: Trade) -> int:
    r = t.request
    spec = t.symbols(r["symbol"])
    buy, volume = r["type"] == c.ORDER_TYPE_BUY, r["volume"]
    code = _first(
        lambda: rules.check_symbol(spec),
        lambda: (
            None
            if r["type"] in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL)
            else (c.TRADE_RETCODE_INVALID_ORDER)
        ),
        lambda: rules.check_order_mode(spec, r["type"], r["sl"], r["tp"]),  # type: ignore[arg-type]
        lambda: rules.check_volume(spec, volume),  # type: ignore[arg-type]
    )
    if code or spec is None:
        return code or c.TRADE_RETCODE_INVALID
    quote = t.market(spec)
    if isinstance(quote, int):
        return quote
    bid, ask = quote
    target = _deal_target(t, spec, buy, volume)
    if isinstance(target, int):
        return target
    position, opens = target
    code = _first(
        lambda: rules.check_deal_filling(spec, r["type_filling"]),
        lambda: rules.check_direction(spec, opens),
        lambda: rules.check_requote(spec, buy, r["price"], r["deviation"], bid, ask),
        lambda: (
            rules.check_stops(spec, buy, bid if buy else ask, r["sl"], r["tp"])
            if position is None
            else None
        ),
        lambda: rules.check_volume_limit(spec, t.state, buy, volume) if opens is not None else None,
    )
    if code:
        return code
    price = ask if buy else bid
    filling = (
        r["type_filling"]
        if spec.trade_exemode
        in (c.SYMBOL_TRADE_EXECUTION_MARKET, c.SYMBOL_TRADE_EXECUTION_EXCHANGE)
        else (c.ORDER_FILLING_FOK)
    )
    order = t.ledger.new_order(
        spec,
        r["type"],
        volume,
        price,
        type_filling=filling,
        magic=r["magic"],
        comment=r["comment"],
        sl=0.0 if position else r["sl"],
        tp=0.0 if position else r["tp"],
    )
    deal_ticket = t.ledger.fill(spec, order, price, position)
    t.result.update(deal=deal_ticket, order=order.ticket, volume=volume, price=price)
    return DONE


# --- TRADE_ACTION_PENDING / MODIFY / REMOVE ---------------------------------------------


def _pending_rules(
    t: Trade,
    spec: SymbolSpec,
    order_type: int,
    price: float,
    stoplimit: float,
    sl: float,
    tp: float,
    type_time: int,
    expiration: int,
    bid: float,
    ask: float,
) -> int | None:
    reference = stoplimit if order_type in rules.STOP_LIMIT_TYPES else price
    now_s = t.ledger.now_ms // 1000
    return _first(
        lambda: rules.check_expiration(spec, type_time, expiration, now_s),
        lambda: rules.check_pending_price(spec, order_type, price, stoplimit, bid, ask),
        lambda: rules.check_stops(spec, is_buy(order_type), reference, sl, tp),
    )


def pending(t: Trade) -> int:
    r = t.request
    spec, order_type, volume = t.symbols(r["symbol"]), r["type"], r["volume"]
    code = _first(
        lambda: rules.check_symbol(spec),
        lambda: None if order_type in PENDING_TYPES else c.TRADE_RETCODE_INVALID_ORDER,
        lambda: rules.check_order_mode(spec, order_type, r["sl"], r["tp"]),  # type: ignore[arg-type]
        lambda: rules.check_volume(spec, volume),  # type: ignore[arg-type]
    )
    if code or spec is None:
        return code or c.TRADE_RETCODE_INVALID
    quote = t.market(spec)
    if isinstance(quote, int):
        return quote
    code = _first(
        lambda: rules.check_pending_filling(spec, order_type, r["type_filling"]),
        lambda: rules.check_direction(spec, is_buy(order_type)),
        lambda: _pending_rules(
            t,
            spec,
            order_type,
            r["price"],
            r["stoplimit"],
            r["sl"],
            r["tp"],
            r["type_time"],
            r["expiration"],
            *quote,
        ),
        lambda: rules.check_limit_orders(t.state),
        lambda: rules.check_volume_limit(spec, t.state, is_buy(order_type), volume),
    )
    if code:
        return code
    order = t.ledger.new_order(
        spec,
        order_type,
        volume,
        r["price"],
        type_filling=r["type_filling"],
        magic=r["magic"],
        comment=r["comment"],
        sl=r["sl"],
        tp=r["tp"],
        price_stoplimit=r["stoplimit"] if order_type in rules.STOP_LIMIT_TYPES else 0.0,
        type_time=r["type_time"],
    )
    _set_expiration(t, order, r["type_time"], r["expiration"])
    t.state.orders[order.ticket] = order
    t.result.update(order=order.ticket, volume=volume)
    return DONE


def _set_expiration(t: Trade, order: Any, type_time: int, expiration: int) -> None:
    order.type_time = type_time
    specified = type_time in (c.ORDER_TIME_SPECIFIED, c.ORDER_TIME_SPECIFIED_DAY)
    order.time_expiration = expiration if specified else 0
    order.expires_at_s = rules.expiry_of(type_time, expiration, t.ledger.now_ms // 1000)


def _active_order(t: Trade) -> tuple[Any, SymbolSpec, float, float] | int:
    order = t.state.orders.get(t.request["order"])
    if order is None:
        return c.TRADE_RETCODE_INVALID
    spec = t.symbols(order.symbol)
    code = rules.check_symbol(spec)
    if code or spec is None:
        return code or c.TRADE_RETCODE_INVALID
    quote = t.market(spec)
    if isinstance(quote, int):
        return quote
    return order, spec, *quote


def modify(t: Trade) -> int:
    r = t.request
    found = _active_order(t)
    if isinstance(found, int):
        return found
    order, spec, bid, ask = found
    stoplimit = r["stoplimit"] if order.type in rules.STOP_LIMIT_TYPES else 0.0
    new = (
        r["price"],
        r["sl"],
        r["tp"],
        stoplimit,
        r["type_time"],
        r["expiration"] if r["type_time"] in (2, 3) else 0,
    )
    old = (
        order.price_open,
        order.sl,
        order.tp,
        order.price_stoplimit,
        order.type_time,
        order.time_expiration,
    )
    if new == old:
        return c.TRADE_RETCODE_NO_CHANGES
    code = _first(
        lambda: rules.check_order_frozen(spec, order, bid, ask),
        lambda: rules.check_order_mode(spec, order.type, r["sl"], r["tp"]),
        lambda: _pending_rules(
            t,
            spec,
            order.type,
            r["price"],
            stoplimit,
            r["sl"],
            r["tp"],
            r["type_time"],
            r["expiration"],
            bid,
            ask,
        ),
    )
    if code:
        return code
    order.price_open, order.sl, order.tp, order.price_stoplimit = new[:4]
    _set_expiration(t, order, r["type_time"], r["expiration"])
    t.result.update(order=order.ticket, volume=order.volume_current, price=order.price_open)
    return DONE


def remove(t: Trade) -> int:
    found = _active_order(t)
    if isinstance(found, int):
        return found
    order, spec, bid, ask = found
    code = rules.check_order_frozen(spec, order, bid, ask)
    if code:
        return code
    t.ledger.finish(order, c.ORDER_STATE_CANCELED)
    t.result.update(order=order.ticket, volume=order.volume_current)
    return DONE


# --- TRADE_ACTION_SLTP / CLOSE_BY -------------------------------------------------------


def sltp(t: Trade) -> int:
    r = t.request
    position = find_position(t.state, r["position"])
    if isinstance(position, int):
        return position
    spec = t.symbols(position.symbol)
    if r["symbol"] and r["symbol"] != position.symbol:
        return c.TRADE_RETCODE_INVALID
    code = rules.check_symbol(spec)
    if code or spec is None:
        return code or c.TRADE_RETCODE_INVALID
    quote = t.market(spec)
    if isinstance(quote, int):
        return quote
    bid, ask = quote
    buy = position.type == c.POSITION_TYPE_BUY
    code = _first(
        lambda: (
            c.TRADE_RETCODE_NO_CHANGES if (r["sl"], r["tp"]) == (position.sl, position.tp) else None
        ),
        lambda: rules.check_position_frozen(spec, position, bid, ask),
        lambda: rules.check_order_mode(
            spec, c.ORDER_TYPE_BUY if buy else c.ORDER_TYPE_SELL, r["sl"], r["tp"]
        ),
        lambda: rules.check_stops(spec, buy, bid if buy else ask, r["sl"], r["tp"]),
    )
    if code:
        return code
    position.sl, position.tp = r["sl"], r["tp"]
    position.time_update_ms = t.ledger.now_ms
    return DONE


def close_by(t: Trade) -> int:
    r = t.request
    if not t.state.hedging:
        return c.TRADE_RETCODE_INVALID
    position = find_position(t.state, r["position"])
    by = find_position(t.state, r["position_by"])
    if isinstance(position, int) or isinstance(by, int):
        return position if isinstance(position, int) else by  # type: ignore[return-value]
    if position.ticket == by.ticket or position.symbol != by.symbol or position.type == by.type:
        return c.TRADE_RETCODE_INVALID
    spec = t.symbols(position.symbol)
    code = rules.check_symbol(spec)
    if code or spec is None:
        return code or c.TRADE_RETCODE_INVALID
    if not spec.order_mode & f.SYMBOL_ORDER_CLOSEBY:
        return c.TRADE_RETCODE_INVALID_ORDER
    quote = t.market(spec)
    if isinstance(quote, int):
        return quote
    volume = min(position.volume, by.volume)
    order = t.ledger.new_order(
        spec,
        c.ORDER_TYPE_CLOSE_BY,
        volume,
        0.0,
        magic=r["magic"],
        comment=r["comment"],
        position_id=position.ticket,
        position_by_id=by.ticket,
    )
    deal_ticket = t.ledger.close_by(spec, order, position, by)
    t.result.update(order=order.ticket, deal=deal_ticket, volume=volume, price=by.price_open)
    return DONE


HANDLERS: dict[int, Callable[[Trade], int]] = {
    c.TRADE_ACTION_DEAL: deal,
    c.TRADE_ACTION_PENDING: pending,
    c.TRADE_ACTION_SLTP: sltp,
    c.TRADE_ACTION_MODIFY: modify,
    c.TRADE_ACTION_REMOVE: remove,
    c.TRADE_ACTION_CLOSE_BY: close_by,
}
