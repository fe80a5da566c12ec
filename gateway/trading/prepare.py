"""Turn an API body into a checked MT5 request (nothing is sent here).

Each ``prepare_*`` reads what it needs from the terminal (one batch for the symbol), applies
the rules of ``rules.py``, the account's risk limits and the filling plan, and returns a
:class:`Prepared` request with every field typed as the MetaTrader5 package demands (§2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway import mt5enums as e
from gateway.errors import NotFound, SymbolNotFound
from gateway.terminal.errors import MT5Error
from gateway.terminal.port import Record, TerminalPort
from gateway.trading import rules as r
from gateway.trading.errors import InvestorReadOnly, RiskLimitExceeded, TradeRuleViolation
from gateway.trading.filling import FillingPlan, plan
from gateway.trading.reconcile import OrderState, PositionStops, Probe
from gateway.trading.trade_schemas import (
    CheckBody,
    OrderFields,
    OrderModifyBody,
    PendingBody,
    PositionStopsBody,
    TradeBody,
)

DEAL, PENDING, SLTP, MODIFY, REMOVE, CLOSE_BY = 1, 5, 6, 7, 8, 10
ORDER_CODES = {name: code for code, name in e.ORDER_TYPES.items()}
TIME_CODES = {name: code for code, name in e.ORDER_TIMES.items()}
DAY_S = 86400


@dataclass
class Prepared:
    action: str  # audit action, e.g. "trade.open"
    request: Record
    symbol: str
    kind: str  # order/position type name for the answer's ``type``
    plan: FillingPlan | None = None
    probe: Probe | None = None  # None: look the client id up
    notes: list[str] = field(default_factory=list)
    placed_order: bool = False
    ticket: int = 0  # the position/order acted on
    server_now_s: int = 0


def mt5_request(action: int, **values: Any) -> Record:
    """All 17 TradeRequest fields with the package's types (floats as float, ints as int)."""
    request: Record = {
        "action": action,
        "magic": 0,
        "order": 0,
        "symbol": "",
        "volume": 0.0,
        "price": 0.0,
        "stoplimit": 0.0,
        "sl": 0.0,
        "tp": 0.0,
        "deviation": 0,
        "type": 0,
        "type_filling": 0,
        "type_time": 0,
        "expiration": 0,
        "comment": "",
        "position": 0,
        "position_by": 0,
    }
    for key, value in values.items():
        request[key] = float(value) if isinstance(request[key], float) else value
    return request


async def load_spec(terminal: TerminalPort, symbol: str) -> r.Spec:
    try:
        _, info, tick = await terminal.batch(
            [
                ("symbol_select", (symbol, True), {}),
                ("symbol_info", (symbol,), {}),
                ("symbol_info_tick", (symbol,), {}),
            ]
        )
    except MT5Error:
        raise SymbolNotFound(symbol) from None
    return r.Spec.from_info(info, tick)


def require_trader(account: Any) -> None:
    if account.is_investor:
        raise InvestorReadOnly(
            "This account is connected with its investor (read-only) password; trading is "
            "refused before anything is sent"
        )


# -- risk limits -------------------------------------------------------------------------------


async def check_risk(terminal: TerminalPort, account: Any, spec: r.Spec, volume: float) -> None:
    """The account's stored limits, for requests that open exposure."""
    limits = account.risk_limits
    if limits.allowed_symbols is not None and spec.name not in limits.allowed_symbols:
        raise RiskLimitExceeded(
            "allowed_symbols",
            f"{spec.name} is not among this account's allowed symbols",
            allowed=list(limits.allowed_symbols),
        )
    if limits.max_volume_per_order is not None and volume > limits.max_volume_per_order + r.EPS:
        raise RiskLimitExceeded(
            "max_volume_per_order",
            f"volume {volume:g} exceeds this account's limit of {limits.max_volume_per_order:g}",
            allowed={"max": limits.max_volume_per_order},
        )
    if limits.max_open_positions is not None:
        count = len(await terminal.positions_get())
        if count >= limits.max_open_positions:
            raise RiskLimitExceeded(
                "max_open_positions",
                f"{count} positions are open; this account allows {limits.max_open_positions}",
                allowed={"max": limits.max_open_positions, "open": count},
            )
    if limits.max_daily_loss is not None:
        start = spec.time // DAY_S * DAY_S  # today in server time
        deals = await terminal.history_deals_get(start, start + DAY_S)
        result = sum(
            d["profit"] + d["commission"] + d["swap"] + d["fee"]
            for d in deals
            if d["type"] in (0, 1)
        )
        if -result >= limits.max_daily_loss - r.EPS:
            raise RiskLimitExceeded(
                "max_daily_loss",
                f"today's loss {-result:.2f} reached this account's limit "
                f"{limits.max_daily_loss:g}",
                allowed={"max": limits.max_daily_loss, "today": round(-result, 2)},
            )


# -- opening ----------------------------------------------------------------------------------


def _stops(
    spec: r.Spec, body: Any, *, buy: bool, entry: float, current: tuple[float, float] = (0, 0)
) -> tuple[float, float]:
    """SL/TP prices from price or point fields; a field left out keeps ``current``."""
    sl, tp = current
    if body.stop_loss is not None:
        sl = body.stop_loss
    elif body.stop_loss_points:
        sl = r.stop_from_points(
            spec, buy=buy, reference=entry, points=body.stop_loss_points, stop="sl"
        )
    if body.take_profit is not None:
        tp = body.take_profit
    elif body.take_profit_points:
        tp = r.stop_from_points(
            spec, buy=buy, reference=entry, points=body.take_profit_points, stop="tp"
        )
    return float(sl), float(tp)


def _common(spec: r.Spec, body: OrderFields, order_type: int) -> tuple[float, list[str]]:
    buy = order_type in r.BUY_SIDE
    r.check_trade_mode(spec, buy=buy, opens=True)
    r.check_order_kind(spec, order_type)
    volume, note = r.check_volume(spec, body.volume, round_to_step=body.round_volume)
    return volume, [note] if note else []


async def prepare_market(
    terminal: TerminalPort, account: Any, body: TradeBody | CheckBody
) -> Prepared:
    require_trader(account)
    spec = await load_spec(terminal, body.symbol)
    order_type = ORDER_CODES[body.order_type]
    volume, notes = _common(spec, body, order_type)
    buy = order_type == 0
    price = spec.price(body.price) if body.price else (spec.ask if buy else spec.bid)
    sl, tp = _stops(spec, body, buy=buy, entry=price)
    r.check_stops(spec, buy=buy, reference=spec.bid if buy else spec.ask, sl=sl, tp=tp)
    await check_risk(terminal, account, spec, volume)
    fill = plan(
        spec,
        order_type=order_type,
        pending=False,
        requested=body.filling,
        strict=body.filling_strict,
    )
    request = mt5_request(
        DEAL,
        symbol=spec.name,
        volume=volume,
        type=order_type,
        price=price,
        sl=sl,
        tp=tp,
        deviation=body.deviation,
        magic=body.magic,
    )
    return Prepared(
        "trade.open", request, spec.name, body.order_type, fill, notes=notes, server_now_s=spec.time
    )


def expiration_of(kind: str, when: Any, basis: Any) -> tuple[int, int]:
    """(type_time, expiration in server seconds) from the body's UTC time."""
    type_time = TIME_CODES[kind]
    if when is None:
        return type_time, 0
    return type_time, int(basis.to_server(int(when.timestamp())))


async def prepare_pending(
    terminal: TerminalPort, account: Any, body: PendingBody, basis: Any
) -> Prepared:
    require_trader(account)
    spec = await load_spec(terminal, body.symbol)
    order_type = ORDER_CODES[body.order_type]
    volume, notes = _common(spec, body, order_type)
    buy = order_type in r.BUY_SIDE
    price = spec.price(body.price)
    stoplimit = spec.price(body.stoplimit) if body.stoplimit else 0.0
    r.check_pending_price(spec, order_type, price, stoplimit)
    entry = stoplimit or price  # a stop-limit becomes a limit order at ``stoplimit``
    sl, tp = _stops(spec, body, buy=buy, entry=entry)
    r.check_stops(spec, buy=buy, reference=entry, sl=sl, tp=tp)
    type_time, expiration = expiration_of(body.expiration, body.expiration_time, basis)
    r.check_expiration(spec, type_time)
    if type_time in (2, 3) and expiration <= spec.time:
        raise TradeRuleViolation(
            "expiration_time",
            "expiration_time must be in the future",
            allowed={"after_utc": basis.to_utc(spec.time)},
        )
    await check_risk(terminal, account, spec, volume)
    fill = plan(
        spec,
        order_type=order_type,
        pending=True,
        requested=body.filling,
        strict=body.filling_strict,
    )
    request = mt5_request(
        PENDING,
        symbol=spec.name,
        volume=volume,
        type=order_type,
        price=price,
        stoplimit=stoplimit,
        sl=sl,
        tp=tp,
        type_time=type_time,
        expiration=expiration,
        magic=body.magic,
    )
    return Prepared(
        "order.place",
        request,
        spec.name,
        body.order_type,
        fill,
        notes=notes,
        placed_order=True,
        server_now_s=spec.time,
    )


# -- acting on positions and orders ------------------------------------------------------------


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
    sl, tp = _stops(spec, body, buy=buy, entry=pos["price_open"], current=(pos["sl"], pos["tp"]))
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
    sl, tp = _stops(spec, body, buy=buy, entry=entry, current=(order["sl"], order["tp"]))
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


async def prepare_check(terminal: TerminalPort, account: Any, body: CheckBody) -> Prepared:
    """A market or pending order for ``order_check`` (same checks as sending it)."""
    if body.order_type in ("buy", "sell"):
        market = TradeBody.model_validate(body.model_dump(exclude={"stoplimit"}))
        return await prepare_market(terminal, account, market)
    if body.price is None:
        raise TradeRuleViolation("price", "pending orders need a price", allowed={"price": "> 0"})
    pending = PendingBody.model_validate(body.model_dump(exclude={"deviation"}))
    return await prepare_pending(terminal, account, pending, basis=None)
