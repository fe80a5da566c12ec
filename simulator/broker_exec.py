"""Execution: turning a filled order into deals and position changes on one account.

``Ledger.fill`` is the single place where positions open, grow, shrink, reverse (netting,
DEAL_ENTRY_INOUT) and close, where deals are written and the balance moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator import constants as c
from simulator.broker_money import Pricing
from simulator.broker_state import AccountState, Deal, Order, Position, is_buy
from simulator.specs import SymbolSpec

EPS = 1e-9


@dataclass
class Ledger:
    state: AccountState
    pricing: Pricing
    new_ticket: Callable[[], int]
    now_ms: int

    def new_order(
        self, spec: SymbolSpec, order_type: int, volume: float, price: float, **fields: object
    ) -> Order:
        order = Order(
            ticket=self.new_ticket(),
            symbol=spec.name,
            type=order_type,
            volume_initial=volume,
            volume_current=volume,
            price_open=price,
            time_setup_ms=self.now_ms,
            price_current=price,
            **fields,
        )  # type: ignore[arg-type]
        return order

    def finish(self, order: Order, state: int, price: float | None = None) -> None:
        """Move an order to history in its final state. One that did not fill keeps the
        market price of that moment (``price``, or the quote now) as its price_current; a
        filled one keeps its fill price."""
        self.state.orders.pop(order.ticket, None)
        if state != c.ORDER_STATE_FILLED:
            order.price_current = price or self.pricing.order_price(order) or order.price_current
        order.state = state
        order.time_done_ms = self.now_ms
        self.state.history_orders.append(order)

    def close_by_server(
        self, spec: SymbolSpec, position: Position, price: float, reason: int, comment: str
    ) -> None:
        """The trade server closes ``position`` at ``price`` (SL, TP, stop-out): an order of
        the opposite side for its whole volume, filled at once."""
        buy = position.type == c.POSITION_TYPE_BUY
        order = self.new_order(
            spec,
            c.ORDER_TYPE_SELL if buy else c.ORDER_TYPE_BUY,
            position.volume,
            price,
            magic=position.magic,
            reason=reason,
            position_id=position.ticket,
            comment=comment,
        )
        self.fill(spec, order, price, position)

    def fill(
        self, spec: SymbolSpec, order: Order, price: float, position: Position | None = None
    ) -> int:
        """Execute ``order`` completely at ``price`` against ``position`` (hedging close) or
        the account's netting position. Returns the deal ticket."""
        buy = is_buy(order.type)
        volume = order.volume_current
        order.price_current = price
        order.volume_current = 0.0
        if self.state.hedging:
            deal = (
                self._close(spec, order, position, volume, price)
                if position
                else (self._open(spec, order, buy, volume, price))
            )
        else:
            deal = self._net(spec, order, buy, volume, price)
        self.finish(order, c.ORDER_STATE_FILLED)
        return deal

    def _net(self, spec: SymbolSpec, order: Order, buy: bool, volume: float, price: float) -> int:
        existing = next(iter(self.state.symbol_positions(spec.name)), None)
        if existing is None:
            return self._open(spec, order, buy, volume, price)
        if (existing.type == c.POSITION_TYPE_BUY) == buy:
            total = existing.volume + volume
            existing.price_open = round(
                (existing.price_open * existing.volume + price * volume) / total, spec.digits + 3
            )
            existing.volume = round(total, 8)
            existing.time_update_ms = self.now_ms
            order.position_id = existing.ticket
            return self._deal(order, c.DEAL_ENTRY_IN, existing.ticket, volume, price, 0.0)
        if volume <= existing.volume + EPS:
            return self._close(spec, order, existing, volume, price)
        return self._reverse(spec, order, existing, volume, price)

    def _open(self, spec: SymbolSpec, order: Order, buy: bool, volume: float, price: float) -> int:
        position = Position(
            ticket=order.ticket,
            symbol=spec.name,
            type=c.POSITION_TYPE_BUY if buy else c.POSITION_TYPE_SELL,
            volume=volume,
            price_open=price,
            time_ms=self.now_ms,
            time_update_ms=self.now_ms,
            magic=order.magic,
            reason=order.reason,
            sl=order.sl,
            tp=order.tp,
            comment=order.comment,
        )
        self.state.positions[position.ticket] = position
        order.position_id = position.ticket
        return self._deal(order, c.DEAL_ENTRY_IN, position.ticket, volume, price, 0.0)

    def _close(
        self,
        spec: SymbolSpec,
        order: Order,
        position: Position,
        volume: float,
        price: float,
        entry: int = c.DEAL_ENTRY_OUT,
    ) -> int:
        profit = self.realize(spec, position, volume, price)
        self._reduce(position, volume)
        order.position_id = position.ticket
        return self._deal(order, entry, position.ticket, volume, price, profit)

    def _reverse(
        self, spec: SymbolSpec, order: Order, position: Position, volume: float, price: float
    ) -> int:
        profit = self.realize(spec, position, position.volume, price)
        position.type = 1 - position.type
        position.volume = round(volume - position.volume, 8)
        position.price_open = price
        position.sl = position.tp = 0.0
        position.time_update_ms = self.now_ms
        order.position_id = position.ticket
        return self._deal(order, c.DEAL_ENTRY_INOUT, position.ticket, volume, price, profit)

    def realize(self, spec: SymbolSpec, position: Position, volume: float, price: float) -> float:
        """Profit of closing ``volume`` of ``position`` at ``price``, booked to the balance."""
        account = self.state.spec
        value = (
            self.pricing.profit(
                spec,
                position.type == c.POSITION_TYPE_BUY,
                volume,
                position.price_open,
                price,
                account.currency,
            )
            or 0.0
        )
        profit = round(value, account.currency_digits)
        account.balance = round(account.balance + profit, account.currency_digits)
        return profit

    def _reduce(self, position: Position, volume: float) -> None:
        position.volume = round(position.volume - volume, 8)
        position.time_update_ms = self.now_ms
        if position.volume <= EPS:
            del self.state.positions[position.ticket]
            self.state.closed_positions.add(position.ticket)

    def _deal(
        self,
        order: Order,
        entry: int,
        position_id: int,
        volume: float,
        price: float,
        profit: float,
        deal_type: int | None = None,
    ) -> int:
        if deal_type is None:
            deal_type = c.DEAL_TYPE_BUY if is_buy(order.type) else c.DEAL_TYPE_SELL
        deal = Deal(
            ticket=self.new_ticket(),
            order=order.ticket,
            time_ms=self.now_ms,
            type=deal_type,
            entry=entry,
            magic=order.magic,
            position_id=position_id,
            reason=order.reason,
            volume=volume,
            price=price,
            profit=profit,
            symbol=order.symbol,
            comment=order.comment,
        )
        self.state.deals.append(deal)
        return deal.ticket

    def close_by(self, spec: SymbolSpec, order: Order, position: Position, by: Position) -> int:
        """Close the overlapping volume of two opposite positions against each other: each
        closes at the other's open price with an OUT_BY deal. Returns the first deal ticket."""
        volume = min(position.volume, by.volume)
        first = 0
        for mine, other in ((position, by), (by, position)):
            price = other.price_open
            profit = self.realize(spec, mine, volume, price)
            deal_type = c.DEAL_TYPE_SELL if mine.type == c.POSITION_TYPE_BUY else (c.DEAL_TYPE_BUY)
            ticket = self._deal(
                order, c.DEAL_ENTRY_OUT_BY, mine.ticket, volume, price, profit, deal_type
            )
            first = first or ticket
        self._reduce(position, volume)
        self._reduce(by, volume)
        order.volume_current = 0.0
        self.finish(order, c.ORDER_STATE_FILLED)
        return first
