"""Server-side events as prices move: pending-order activation, SL/TP, order expiration.

``on_tick`` applies one tick of one symbol to one account's copy and returns the new state;
the broker walks the ticks since its last pass (``Broker.process``).
"""

from __future__ import annotations

from collections.abc import Callable

from simulator import constants as c
from simulator.broker_exec import Ledger
from simulator.broker_money import Pricing
from simulator.broker_state import AccountState, Order, Position
from simulator.specs import SymbolSpec

_LIMIT_OF = {
    c.ORDER_TYPE_BUY_STOP_LIMIT: c.ORDER_TYPE_BUY_LIMIT,
    c.ORDER_TYPE_SELL_STOP_LIMIT: c.ORDER_TYPE_SELL_LIMIT,
}


def order_triggered(order: Order, bid: float, ask: float) -> bool:
    t, price = order.type, order.price_open
    if t == c.ORDER_TYPE_BUY_LIMIT:
        return ask <= price
    if t == c.ORDER_TYPE_SELL_LIMIT:
        return bid >= price
    if t in (c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT):
        return ask >= price
    if t in (c.ORDER_TYPE_SELL_STOP, c.ORDER_TYPE_SELL_STOP_LIMIT):
        return bid <= price
    return False


def stop_reason(position: Position, bid: float, ask: float) -> int | None:
    """DEAL_REASON_SL / DEAL_REASON_TP when the tick reaches the position's SL or TP."""
    if position.type == c.POSITION_TYPE_BUY:
        if position.sl and bid <= position.sl:
            return c.DEAL_REASON_SL
        if position.tp and bid >= position.tp:
            return c.DEAL_REASON_TP
    else:
        if position.sl and ask >= position.sl:
            return c.DEAL_REASON_SL
        if position.tp and ask <= position.tp:
            return c.DEAL_REASON_TP
    return None


class Triggers:
    """Applies ticks to account states. ``affordable(before, after)`` is the money rule."""

    def __init__(
        self,
        pricing: Pricing,
        new_ticket: Callable[[], int],
        affordable: Callable[[AccountState, AccountState], bool],
    ) -> None:
        self.pricing = pricing
        self.new_ticket = new_ticket
        self.affordable = affordable

    def on_tick(
        self, state: AccountState, spec: SymbolSpec, bid: float, ask: float, time_ms: int
    ) -> AccountState:
        for order in [o for o in state.orders.values() if o.symbol == spec.name]:
            if order.expires_at_s and time_ms >= order.expires_at_s * 1000:
                self.expire(state, order, time_ms)
            elif order_triggered(order, bid, ask):
                state = self._activate(state, spec, order.ticket, bid, ask, time_ms)
        for position in [p for p in state.positions.values() if p.symbol == spec.name]:
            reason = stop_reason(position, bid, ask)
            if reason is not None:
                self._close_at_stop(state, spec, position, reason, bid, ask, time_ms)
        return state

    def expire(self, state: AccountState, order: Order, now_ms: int) -> None:
        Ledger(state, self.pricing, self.new_ticket, now_ms).finish(order, c.ORDER_STATE_EXPIRED)
        order.time_done_ms = min(now_ms, order.expires_at_s * 1000)

    def _activate(
        self,
        state: AccountState,
        spec: SymbolSpec,
        ticket: int,
        bid: float,
        ask: float,
        time_ms: int,
    ) -> AccountState:
        order = state.orders[ticket]
        if order.type in _LIMIT_OF:
            self._stop_limit(state, spec, order, time_ms)
            return state
        trial = state.clone()
        ledger = Ledger(trial, self.pricing, self.new_ticket, time_ms)
        price = ask if order.type in (c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_BUY_STOP) else bid
        ledger.fill(spec, trial.orders[ticket], price)
        if self.affordable(state, trial):
            return trial
        ledger = Ledger(state, self.pricing, self.new_ticket, time_ms)
        ledger.finish(order, c.ORDER_STATE_CANCELED, price)
        return state

    def _stop_limit(
        self, state: AccountState, spec: SymbolSpec, order: Order, time_ms: int
    ) -> None:
        """The stop price was reached: the order is done and a limit order takes its place."""
        ledger = Ledger(state, self.pricing, self.new_ticket, time_ms)
        limit = ledger.new_order(
            spec,
            _LIMIT_OF[order.type],
            order.volume_current,
            order.price_stoplimit,
            type_filling=c.ORDER_FILLING_RETURN,
            magic=order.magic,
            comment=order.comment,
            sl=order.sl,
            tp=order.tp,
            type_time=order.type_time,
            time_expiration=order.time_expiration,
            expires_at_s=order.expires_at_s,
            reason=order.reason,
        )
        order.volume_current = 0.0
        ledger.finish(order, c.ORDER_STATE_FILLED)
        state.orders[limit.ticket] = limit

    def _close_at_stop(
        self,
        state: AccountState,
        spec: SymbolSpec,
        position: Position,
        reason: int,
        bid: float,
        ask: float,
        time_ms: int,
    ) -> None:
        buy = position.type == c.POSITION_TYPE_BUY
        level = position.sl if reason == c.DEAL_REASON_SL else position.tp
        tag = "sl" if reason == c.DEAL_REASON_SL else "tp"
        ledger = Ledger(state, self.pricing, self.new_ticket, time_ms)
        comment = f"[{tag} {level:.{spec.digits}f}]"
        ledger.close_by_server(spec, position, bid if buy else ask, reason, comment)
