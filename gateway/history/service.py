"""Reads of the account's history: deals and finished orders, with times moved to UTC."""

from __future__ import annotations

import time

from gateway import mt5enums as e
from gateway.errors import ValidationFailed
from gateway.history.schemas import Deal, DealsResponse
from gateway.portfolio.schemas import OrdersResponse
from gateway.portfolio.service import order_out, utc
from gateway.schemas import basis_fields
from gateway.terminal.port import Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis
from gateway.timeparams import mt5_date, parse_time

_FUTURE_S = 86400  # default range end: far enough ahead of any server clock


def deal_out(d: Record, basis: TimeBasis) -> Deal:
    return Deal(
        ticket=d["ticket"],
        order=d["order"],
        time=utc(basis, d["time"]),
        type=e.name(e.DEAL_TYPES, d["type"]),
        entry=e.name(e.DEAL_ENTRIES, d["entry"]),
        position_id=d["position_id"],
        symbol=d["symbol"],
        volume=d["volume"],
        price=d["price"],
        profit=d["profit"],
        commission=d["commission"],
        swap=d["swap"],
        fee=d["fee"],
        magic=d["magic"],
        reason=e.name(e.DEAL_REASONS, d["reason"]),
        comment=d["comment"],
        external_id=d["external_id"],
    )


class HistoryQuery:
    """Which history to read: a UTC date range, or one ticket/order/position filter."""

    def __init__(
        self,
        start: str | None = None,
        end: str | None = None,
        *,
        ticket: int | None = None,
        order: int | None = None,
        position: int | None = None,
    ) -> None:
        filters = [f for f in (ticket, order, position) if f is not None]
        if len(filters) > 1:
            raise ValidationFailed("give only one of ticket, order and position")
        if filters and (start is not None or end is not None):
            raise ValidationFailed("start_date/end_date cannot be combined with a ticket filter")
        self.start = parse_time(start, "start_date") if start is not None else None
        self.end = parse_time(end, "end_date") if end is not None else None
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValidationFailed("start_date must not be after end_date")
        self.ticket, self.order, self.position = ticket, order, position

    def server_range(self, basis: TimeBasis) -> tuple[int, int]:
        """[date_from, date_to] in server time within MT5's 32-bit dates; defaults: all history
        up to now."""
        date_from = basis.to_server(self.start) if self.start is not None else 0
        if self.end is not None:
            date_to = basis.to_server(self.end)
        else:
            date_to = basis.to_server(int(time.time())) + _FUTURE_S
        return mt5_date(date_from), mt5_date(date_to)


async def history_orders(
    terminal: TerminalPort, clocks: ServerClocks, query: HistoryQuery
) -> OrdersResponse:
    """Orders by range, by their ticket, or by position ID."""
    basis = await clocks.basis(terminal)
    if query.ticket is not None or query.position is not None:
        rows = await terminal.history_orders_get(ticket=query.ticket, position=query.position)
    else:
        rows = await terminal.history_orders_get(*query.server_range(basis))
    return OrdersResponse(orders=[order_out(r, basis) for r in rows], **basis_fields(basis))


async def history_deals(
    terminal: TerminalPort, clocks: ServerClocks, query: HistoryQuery
) -> DealsResponse:
    """Deals by range, by order ticket, by position ID, or the one deal ``ticket``.

    MT5 filters deals only by their *order* ticket, so a deal ticket is looked up in the whole
    history (one round trip, filtered here).
    """
    basis = await clocks.basis(terminal)
    if query.order is not None or query.position is not None:
        rows = await terminal.history_deals_get(ticket=query.order, position=query.position)
    else:
        rows = await terminal.history_deals_get(*query.server_range(basis))
        if query.ticket is not None:
            rows = [r for r in rows if r["ticket"] == query.ticket]
    return DealsResponse(deals=[deal_out(r, basis) for r in rows], **basis_fields(basis))
