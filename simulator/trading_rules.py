"""Trade request validation (mt5-api-facts.md §6): each check returns a retcode or None.

The checks are pure functions of the symbol spec, the request values and the current quote,
so the action handlers in ``simulator/broker_actions.py`` read as a list of rules.
"""

from __future__ import annotations

from simulator import constants as c
from simulator import flags as f
from simulator.broker_state import AccountState, Order, Position, is_buy
from simulator.specs import SymbolSpec

EPS = 1e-9

COMMENTS = {
    0: "Done",
    c.TRADE_RETCODE_REQUOTE: "Requote",
    c.TRADE_RETCODE_REJECT: "Request rejected",
    c.TRADE_RETCODE_DONE: "Request executed",
    c.TRADE_RETCODE_INVALID: "Invalid request",
    c.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume",
    c.TRADE_RETCODE_INVALID_PRICE: "Invalid price",
    c.TRADE_RETCODE_INVALID_STOPS: "Invalid stops",
    c.TRADE_RETCODE_TRADE_DISABLED: "Trade disabled",
    c.TRADE_RETCODE_MARKET_CLOSED: "Market closed",
    c.TRADE_RETCODE_NO_MONEY: "No money",
    c.TRADE_RETCODE_PRICE_OFF: "Off quotes",
    c.TRADE_RETCODE_INVALID_EXPIRATION: "Invalid expiration",
    c.TRADE_RETCODE_NO_CHANGES: "No changes",
    c.TRADE_RETCODE_SERVER_DISABLES_AT: "AutoTrading disabled by server",
    c.TRADE_RETCODE_CLIENT_DISABLES_AT: "AutoTrading disabled by client",
    c.TRADE_RETCODE_FROZEN: "Frozen",
    c.TRADE_RETCODE_INVALID_FILL: "Unsupported filling mode",
    c.TRADE_RETCODE_LIMIT_ORDERS: "Too many pending orders",
    c.TRADE_RETCODE_LIMIT_VOLUME: "Volume limit reached",
    c.TRADE_RETCODE_INVALID_ORDER: "Invalid order",
    c.TRADE_RETCODE_POSITION_CLOSED: "Position already closed",
    c.TRADE_RETCODE_INVALID_CLOSE_VOLUME: "Invalid close volume",
    c.TRADE_RETCODE_LONG_ONLY: "Long positions only allowed",
    c.TRADE_RETCODE_SHORT_ONLY: "Short positions only allowed",
    c.TRADE_RETCODE_CLOSE_ONLY: "Close only allowed",
    c.TRADE_RETCODE_FIFO_CLOSE: "FIFO close rule",
}

_ORDER_MODE_BITS = {
    c.ORDER_TYPE_BUY: f.SYMBOL_ORDER_MARKET,
    c.ORDER_TYPE_SELL: f.SYMBOL_ORDER_MARKET,
    c.ORDER_TYPE_BUY_LIMIT: f.SYMBOL_ORDER_LIMIT,
    c.ORDER_TYPE_SELL_LIMIT: f.SYMBOL_ORDER_LIMIT,
    c.ORDER_TYPE_BUY_STOP: f.SYMBOL_ORDER_STOP,
    c.ORDER_TYPE_SELL_STOP: f.SYMBOL_ORDER_STOP,
    c.ORDER_TYPE_BUY_STOP_LIMIT: f.SYMBOL_ORDER_STOP_LIMIT,
    c.ORDER_TYPE_SELL_STOP_LIMIT: f.SYMBOL_ORDER_STOP_LIMIT,
}
_EXPIRATION_BITS = {
    c.ORDER_TIME_GTC: f.SYMBOL_EXPIRATION_GTC,
    c.ORDER_TIME_DAY: f.SYMBOL_EXPIRATION_DAY,
    c.ORDER_TIME_SPECIFIED: f.SYMBOL_EXPIRATION_SPECIFIED,
    c.ORDER_TIME_SPECIFIED_DAY: f.SYMBOL_EXPIRATION_SPECIFIED_DAY,
}
LIMIT_TYPES = {
    c.ORDER_TYPE_BUY_LIMIT,
    c.ORDER_TYPE_SELL_LIMIT,
    c.ORDER_TYPE_BUY_STOP_LIMIT,
    c.ORDER_TYPE_SELL_STOP_LIMIT,
}
STOP_LIMIT_TYPES = {c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT}
DAY_S = 86_400


def comment_for(retcode: int) -> str:
    return COMMENTS.get(retcode, "Request rejected")


def check_symbol(spec: SymbolSpec | None) -> int | None:
    if spec is None:
        return c.TRADE_RETCODE_INVALID
    if spec.trade_mode == c.SYMBOL_TRADE_MODE_DISABLED:
        return c.TRADE_RETCODE_TRADE_DISABLED
    return None


def check_order_mode(spec: SymbolSpec, order_type: int, sl: float, tp: float) -> int | None:
    bit = _ORDER_MODE_BITS.get(order_type)
    if bit is None or not spec.order_mode & bit:
        return c.TRADE_RETCODE_INVALID_ORDER
    if (sl and not spec.order_mode & f.SYMBOL_ORDER_SL) or (
        tp and not spec.order_mode & f.SYMBOL_ORDER_TP
    ):
        return c.TRADE_RETCODE_INVALID_STOPS
    return None


def check_volume(spec: SymbolSpec, volume: float) -> int | None:
    if volume < spec.volume_min - EPS or volume > spec.volume_max + EPS:
        return c.TRADE_RETCODE_INVALID_VOLUME
    steps = (volume - spec.volume_min) / spec.volume_step
    if abs(steps - round(steps)) > 1e-6:
        return c.TRADE_RETCODE_INVALID_VOLUME
    return None


def check_quote(bid: float, ask: float) -> int | None:
    return c.TRADE_RETCODE_PRICE_OFF if bid <= 0 or ask <= 0 else None


def check_deal_filling(spec: SymbolSpec, filling: int) -> int | None:
    """§6.1: Instant/Request ignore the policy; Market needs the FOK/IOC bit; Exchange also
    takes RETURN. BOC never applies to a market order."""
    mode = spec.trade_exemode
    if mode in (c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST):
        return None
    if filling == c.ORDER_FILLING_FOK and spec.filling_mode & f.SYMBOL_FILLING_FOK:
        return None
    if filling == c.ORDER_FILLING_IOC and spec.filling_mode & f.SYMBOL_FILLING_IOC:
        return None
    if filling == c.ORDER_FILLING_RETURN and mode == c.SYMBOL_TRADE_EXECUTION_EXCHANGE:
        return None
    return c.TRADE_RETCODE_INVALID_FILL


def check_pending_filling(spec: SymbolSpec, order_type: int, filling: int) -> int | None:
    """Pending orders: RETURN always, FOK/IOC with their bit, BOC for limit kinds on
    Exchange execution with the BOC bit."""
    if filling == c.ORDER_FILLING_RETURN:
        return None
    if filling == c.ORDER_FILLING_BOC:
        ok = (
            order_type in LIMIT_TYPES
            and spec.filling_mode & f.SYMBOL_FILLING_BOC
            and spec.trade_exemode == c.SYMBOL_TRADE_EXECUTION_EXCHANGE
        )
        return None if ok else c.TRADE_RETCODE_INVALID_FILL
    if spec.trade_exemode in (c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST):
        return (
            None
            if filling in (c.ORDER_FILLING_FOK, c.ORDER_FILLING_IOC)
            else (c.TRADE_RETCODE_INVALID_FILL)
        )
    bit = {c.ORDER_FILLING_FOK: f.SYMBOL_FILLING_FOK, c.ORDER_FILLING_IOC: f.SYMBOL_FILLING_IOC}
    if filling in bit and spec.filling_mode & bit[filling]:
        return None
    return c.TRADE_RETCODE_INVALID_FILL


def check_direction(spec: SymbolSpec, opens_buy: bool | None) -> int | None:
    """Symbol trade mode for a request that opens (or increases) exposure; None = closing."""
    if opens_buy is None:
        return None
    mode = spec.trade_mode
    if mode == c.SYMBOL_TRADE_MODE_CLOSEONLY:
        return c.TRADE_RETCODE_CLOSE_ONLY
    if mode == c.SYMBOL_TRADE_MODE_LONGONLY and not opens_buy:
        return c.TRADE_RETCODE_LONG_ONLY
    if mode == c.SYMBOL_TRADE_MODE_SHORTONLY and opens_buy:
        return c.TRADE_RETCODE_SHORT_ONLY
    return None


def check_requote(
    spec: SymbolSpec, buy: bool, price: float, deviation: int, bid: float, ask: float
) -> int | None:
    """Instant/Request execution: the request price must be within ``deviation`` points."""
    if spec.trade_exemode not in (
        c.SYMBOL_TRADE_EXECUTION_INSTANT,
        c.SYMBOL_TRADE_EXECUTION_REQUEST,
    ):
        return None
    if price <= 0:
        return c.TRADE_RETCODE_INVALID_PRICE
    current = ask if buy else bid
    if abs(price - current) > deviation * spec.point + EPS:
        return c.TRADE_RETCODE_REQUOTE
    return None


def _far_enough(distance: float, spec: SymbolSpec, level: int) -> bool:
    return distance > EPS and distance >= level * spec.point - EPS


def check_stops(spec: SymbolSpec, buy: bool, reference: float, sl: float, tp: float) -> int | None:
    """SL/TP must lie on the right side of ``reference`` and at least stops_level away.
    For positions the reference is the closing price (bid for a buy, ask for a sell); for
    pending orders it is the order's price."""
    level = spec.trade_stops_level
    sign = 1 if buy else -1
    if sl and not _far_enough(sign * (reference - sl), spec, level):
        return c.TRADE_RETCODE_INVALID_STOPS
    if tp and not _far_enough(sign * (tp - reference), spec, level):
        return c.TRADE_RETCODE_INVALID_STOPS
    return None


def check_pending_price(
    spec: SymbolSpec, order_type: int, price: float, stoplimit: float, bid: float, ask: float
) -> int | None:
    """Price side and stops_level distance of a pending order (§6.6) → 10015."""
    if price <= 0:
        return c.TRADE_RETCODE_INVALID_PRICE
    distance = {
        c.ORDER_TYPE_BUY_LIMIT: ask - price,
        c.ORDER_TYPE_SELL_LIMIT: price - bid,
        c.ORDER_TYPE_BUY_STOP: price - ask,
        c.ORDER_TYPE_SELL_STOP: bid - price,
        c.ORDER_TYPE_BUY_STOP_LIMIT: price - ask,
        c.ORDER_TYPE_SELL_STOP_LIMIT: bid - price,
    }[order_type]
    if not _far_enough(distance, spec, spec.trade_stops_level):
        return c.TRADE_RETCODE_INVALID_PRICE
    if order_type in STOP_LIMIT_TYPES:
        gap = (
            price - stoplimit if order_type == c.ORDER_TYPE_BUY_STOP_LIMIT else (stoplimit - price)
        )
        if stoplimit <= 0 or gap < -EPS:
            return c.TRADE_RETCODE_INVALID_PRICE
    return None


def expiry_of(type_time: int, expiration: int, now_s: int) -> int:
    """When an order with this time type expires (server seconds); 0 = good till cancelled."""
    if type_time == c.ORDER_TIME_DAY:
        return (now_s // DAY_S + 1) * DAY_S
    if type_time == c.ORDER_TIME_SPECIFIED:
        return expiration
    if type_time == c.ORDER_TIME_SPECIFIED_DAY:
        return (expiration // DAY_S + 1) * DAY_S
    return 0


def check_expiration(spec: SymbolSpec, type_time: int, expiration: int, now_s: int) -> int | None:
    bit = _EXPIRATION_BITS.get(type_time)
    if bit is None or not spec.expiration_mode & bit:
        return c.TRADE_RETCODE_INVALID_EXPIRATION
    specified = type_time in (c.ORDER_TIME_SPECIFIED, c.ORDER_TIME_SPECIFIED_DAY)
    if specified and (expiration <= 0 or expiry_of(type_time, expiration, now_s) <= now_s):
        return c.TRADE_RETCODE_INVALID_EXPIRATION
    return None


def check_order_frozen(spec: SymbolSpec, order: Order, bid: float, ask: float) -> int | None:
    """A pending order whose activation price is within freeze_level of the market."""
    level = spec.trade_freeze_level
    if not level:
        return None
    market = (
        ask
        if order.type
        in (c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT)
        else bid
    )
    if abs(order.price_open - market) < level * spec.point - EPS:
        return c.TRADE_RETCODE_FROZEN
    return None


def check_position_frozen(
    spec: SymbolSpec, position: Position, bid: float, ask: float
) -> int | None:
    """A position whose current SL or TP is within freeze_level of its closing price."""
    level = spec.trade_freeze_level
    if not level:
        return None
    price = bid if position.type == c.POSITION_TYPE_BUY else ask
    for stop in (position.sl, position.tp):
        if stop and abs(stop - price) < level * spec.point - EPS:
            return c.TRADE_RETCODE_FROZEN
    return None


def check_volume_limit(
    spec: SymbolSpec, state: AccountState, buy: bool, volume: float
) -> int | None:
    """Open positions plus pending orders in one direction may not exceed volume_limit."""
    if not spec.volume_limit:
        return None
    held = sum(
        p.volume
        for p in state.positions.values()
        if p.symbol == spec.name and (p.type == c.POSITION_TYPE_BUY) == buy
    )
    held += sum(
        o.volume_current
        for o in state.orders.values()
        if o.symbol == spec.name and is_buy(o.type) == buy
    )
    if held + volume > spec.volume_limit + EPS:
        return c.TRADE_RETCODE_LIMIT_VOLUME
    return None


def check_limit_orders(state: AccountState) -> int | None:
    limit = state.spec.limit_orders
    if limit and len(state.orders) >= limit:
        return c.TRADE_RETCODE_LIMIT_ORDERS
    return None


def check_fifo(state: AccountState, position: Position) -> int | None:
    """With fifo_close, only the oldest position of a symbol and direction may be closed."""
    if not state.spec.fifo_close:
        return None
    for other in state.positions.values():
        if other.symbol == position.symbol and other.type == position.type:
            return None if other.ticket == position.ticket else c.TRADE_RETCODE_FIFO_CLOSE
    return None
