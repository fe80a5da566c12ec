"""Find out what a send did when its answer was lost (timeout, dropped connection).

Orders, deals and positions the gateway creates carry its client id at the start of their
comment, so one batch (one round trip) of open positions, open orders and the history of a
window around the broker's current server time shows whether the request executed. Requests
that create nothing (SL/TP change, order modify/cancel) are judged by their visible effect.

``lookup`` answers an ``OrderSendResult``-like record when the request is found, ``None`` when
the terminal answered and nothing is there, and raises ``TerminalError`` when it could not ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.terminal.port import Record, TerminalPort

WINDOW_S = 2 * 86400  # history looked at on either side of the server's "now"
DONE, PLACED = 10009, 10008
FILLED, PLACED_STATE, CANCELED = 4, 1, 2

Probe = Callable[[TerminalPort], Awaitable[Record | None]]


def _answer(retcode: int, order: int, deal: int, volume: float, price: float) -> Record:
    return {
        "retcode": retcode,
        "deal": deal,
        "order": order,
        "volume": volume,
        "price": price,
        "comment": "found by reconciliation",
        "request_id": 0,
        "retcode_external": 0,
    }


@dataclass(frozen=True)
class ByClientId:
    """Looks for orders/deals/positions whose comment starts with ``client_id``."""

    client_id: str
    symbol: str
    server_now_s: int

    async def __call__(self, terminal: TerminalPort) -> Record | None:
        start, end = self.server_now_s - WINDOW_S, self.server_now_s + WINDOW_S
        positions, orders, h_orders, h_deals = await terminal.batch(
            [
                ("positions_get", (), {"symbol": self.symbol}),
                ("orders_get", (), {"symbol": self.symbol}),
                ("history_orders_get", (start, end), {}),
                ("history_deals_get", (start, end), {}),
            ]
        )
        mine = self._mine
        deals = [d for d in h_deals if mine(d)]
        for order in (o for o in h_orders if mine(o)):
            order_deals = [d for d in deals if d["order"] == order["ticket"]] or [
                d for d in h_deals if d["order"] == order["ticket"]
            ]
            if order_deals:
                deal = order_deals[0]
                volume = sum(float(d["volume"]) for d in order_deals)
                return _answer(DONE, order["ticket"], deal["ticket"], volume, deal["price"])
            if order["state"] == FILLED:
                return _answer(
                    DONE, order["ticket"], 0, order["volume_initial"], order["price_open"]
                )
            if order["state"] in (CANCELED, 6):  # placed, then canceled or expired since
                return _answer(
                    PLACED, order["ticket"], 0, order["volume_initial"], order["price_open"]
                )
        for order in (o for o in orders if mine(o)):
            return _answer(PLACED, order["ticket"], 0, order["volume_initial"], order["price_open"])
        for position in (p for p in positions if mine(p)):
            return _answer(
                DONE, position["identifier"], 0, position["volume"], position["price_open"]
            )
        return None

    def _mine(self, row: Record) -> bool:
        return str(row.get("comment", "")).startswith(self.client_id)


@dataclass(frozen=True)
class PositionStops:
    """An SL/TP change is done when the position shows the requested levels."""

    position: int
    sl: float
    tp: float

    async def __call__(self, terminal: TerminalPort) -> Record | None:
        rows = await terminal.positions_get(ticket=self.position)
        if rows and _same(rows[0]["sl"], self.sl) and _same(rows[0]["tp"], self.tp):
            return _answer(DONE, 0, 0, rows[0]["volume"], rows[0]["price_open"])
        return None


@dataclass(frozen=True)
class OrderState:
    """A modify is done when the order shows the new values; a cancel when it is gone."""

    order: int
    expect: dict[str, Any] | None  # None: the order must be canceled

    async def __call__(self, terminal: TerminalPort) -> Record | None:
        rows = await terminal.orders_get(ticket=self.order)
        if self.expect is None:
            if rows:
                return None
            history = await terminal.history_orders_get(ticket=self.order)
            if history and history[0]["state"] == CANCELED:
                return _answer(DONE, self.order, 0, history[0]["volume_initial"], 0.0)
            return None
        if rows and all(_same(rows[0][k], v) for k, v in self.expect.items()):
            return _answer(DONE, self.order, 0, rows[0]["volume_current"], rows[0]["price_open"])
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)
