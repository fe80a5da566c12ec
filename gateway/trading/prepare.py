"""Turn an API body into a checked MT5 request (nothing is sent here).

Each ``prepare_*`` reads what it needs from the terminal (one batch for the symbol), applies
the rules of ``rules.py``, the account's risk limits and the filling plan, and returns a
:class:`Prepared` request with every field typed as the MetaTrader5 package demands (§2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway import mt5enums as e
from gateway.errors import SymbolNotFound
from gateway.terminal.errors import MT5Error
from gateway.terminal.port import Record, TerminalPort
from gateway.trading import rules as r
from gateway.trading.errors import InvestorReadOnly, TradeRuleViolation
from gateway.trading.filling import FillingPlan, plan
from gateway.trading.reconcile import Probe
from gateway.trading.risk import check_risk
from gateway.trading.schemas import (
    CheckBody,
    OrderFields,
    PendingBody,
    TradeBody,
)

DEAL, PENDING, SLTP, MODIFY, REMOVE, CLOSE_BY = 1, 5, 6, 7, 8, 10
ORDER_CODES = {name: code for code, name in e.ORDER_TYPES.items()}
TIME_CODES = {name: code for code, name in e.ORDER_TIMES.items()}


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
    """The symbol's rules and its latest quote: ``symbol_info`` carries the last tick's bid,
    ask and time, so one batch of two calls (selecting it first keeps the quote current)."""
    try:
        _, info = await terminal.batch(
            [("symbol_select", (symbol, True), {}), ("symbol_info", (symbol,), {})]
        )
    except MT5Error:
        raise SymbolNotFound(symbol) from None
    return r.Spec.from_info(info)


def require_trader(account: Any) -> None:
    if account.is_investor:
        raise InvestorReadOnly(
            "This account is connected with its investor (read-only) password; trading is "
            "refused before anything is sent"
        )


# -- opening ----------------------------------------------------------------------------------


def stops_of(
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
    sl, tp = stops_of(spec, body, buy=buy, entry=price)
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
    sl, tp = stops_of(spec, body, buy=buy, entry=entry)
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


async def prepare_check(terminal: TerminalPort, account: Any, body: CheckBody) -> Prepared:
    """A market or pending order for ``order_check`` (same checks as sending it)."""
    if body.order_type in ("buy", "sell"):
        market = TradeBody.model_validate(body.model_dump(exclude={"stoplimit"}))
        return await prepare_market(terminal, account, market)
    if body.price is None:
        raise TradeRuleViolation("price", "pending orders need a price", allowed={"price": "> 0"})
    pending = PendingBody.model_validate(body.model_dump(exclude={"deviation"}))
    return await prepare_pending(terminal, account, pending, basis=None)
