"""What the broker holds per account: positions, pending orders, history orders and deals.

Records are small mutable dataclasses; ``AccountState.clone()`` copies everything a trade can
change, so a request can be executed on a copy (for ``order_check``, or to test the margin
before committing in ``order_send``). Times are server-time milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from simulator import constants as c
from simulator.specs import AccountSpec
from simulator.structs import TradeDeal, TradeOrder, TradePosition

BUY_TYPES = frozenset(
    {c.ORDER_TYPE_BUY, c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT}
)


def is_buy(order_type: int) -> bool:
    return order_type in BUY_TYPES


@dataclass
class Order:
    ticket: int
    symbol: str
    type: int
    volume_initial: float
    price_open: float
    time_setup_ms: int
    state: int = c.ORDER_STATE_PLACED
    volume_current: float = 0.0
    time_done_ms: int = 0
    time_expiration: int = 0
    expires_at_s: int = 0  # when a pending order expires (0 = never); DAY orders have one too
    type_time: int = c.ORDER_TIME_GTC
    type_filling: int = c.ORDER_FILLING_FOK
    magic: int = 0
    position_id: int = 0
    position_by_id: int = 0
    reason: int = c.ORDER_REASON_EXPERT
    sl: float = 0.0
    tp: float = 0.0
    price_current: float = 0.0
    price_stoplimit: float = 0.0
    comment: str = ""

    def struct(self, price_current: float | None = None) -> TradeOrder:
        return TradeOrder(
            ticket=self.ticket,
            time_setup=self.time_setup_ms // 1000,
            time_setup_msc=self.time_setup_ms,
            time_done=self.time_done_ms // 1000,
            time_done_msc=self.time_done_ms,
            time_expiration=self.time_expiration,
            type=self.type,
            type_time=self.type_time,
            type_filling=self.type_filling,
            state=self.state,
            magic=self.magic,
            position_id=self.position_id,
            position_by_id=self.position_by_id,
            reason=self.reason,
            volume_initial=self.volume_initial,
            volume_current=self.volume_current,
            price_open=self.price_open,
            sl=self.sl,
            tp=self.tp,
            price_current=self.price_current if price_current is None else price_current,
            price_stoplimit=self.price_stoplimit,
            symbol=self.symbol,
            comment=self.comment,
        )


@dataclass
class Position:
    ticket: int  # == identifier == the opening order's ticket
    symbol: str
    type: int  # POSITION_TYPE_BUY / SELL
    volume: float
    price_open: float
    time_ms: int
    time_update_ms: int
    magic: int = 0
    reason: int = c.POSITION_REASON_EXPERT
    sl: float = 0.0
    tp: float = 0.0
    comment: str = ""

    def struct(self, price_current: float, profit: float) -> TradePosition:
        return TradePosition(
            ticket=self.ticket,
            time=self.time_ms // 1000,
            time_msc=self.time_ms,
            time_update=self.time_update_ms // 1000,
            time_update_msc=self.time_update_ms,
            type=self.type,
            magic=self.magic,
            identifier=self.ticket,
            reason=self.reason,
            volume=self.volume,
            price_open=self.price_open,
            sl=self.sl,
            tp=self.tp,
            price_current=price_current,
            swap=0.0,
            profit=profit,
            symbol=self.symbol,
            comment=self.comment,
        )


@dataclass(frozen=True)
class Deal:
    ticket: int
    order: int
    time_ms: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    profit: float
    symbol: str
    comment: str

    def struct(self) -> TradeDeal:
        return TradeDeal(
            ticket=self.ticket,
            order=self.order,
            time=self.time_ms // 1000,
            time_msc=self.time_ms,
            type=self.type,
            entry=self.entry,
            magic=self.magic,
            position_id=self.position_id,
            reason=self.reason,
            volume=self.volume,
            price=self.price,
            commission=0.0,
            swap=0.0,
            profit=self.profit,
            fee=0.0,
            symbol=self.symbol,
            comment=self.comment,
        )


@dataclass
class AccountState:
    spec: AccountSpec
    positions: dict[int, Position] = field(default_factory=dict)  # open, by ticket, oldest first
    orders: dict[int, Order] = field(default_factory=dict)  # active pending orders
    history_orders: list[Order] = field(default_factory=list)  # finished orders, never mutated
    deals: list[Deal] = field(default_factory=list)
    closed_positions: set[int] = field(default_factory=set)

    def clone(self) -> AccountState:
        return AccountState(
            spec=dataclasses.replace(self.spec),
            positions={t: dataclasses.replace(p) for t, p in self.positions.items()},
            orders={t: dataclasses.replace(o) for t, o in self.orders.items()},
            history_orders=list(self.history_orders),
            deals=list(self.deals),
            closed_positions=set(self.closed_positions),
        )

    @property
    def hedging(self) -> bool:
        return self.spec.margin_mode == c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING

    def symbol_positions(self, symbol: str) -> list[Position]:
        return [p for p in self.positions.values() if p.symbol == symbol]
