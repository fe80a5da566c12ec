"""Reads of positions, orders and history, with times moved to UTC."""

from __future__ import annotations

import time

from gateway import mt5enums as e
from gateway.errors import ValidationFailed
from gateway.schemas import basis_fields
from gateway.terminal.port import Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis
from gateway.timeparams import parse_time
from gateway.trading.schemas import (
    Deal,
    DealsResponse,
    Order,
    OrdersResponse,
    Position,
    PositionsResponse,
)

_FUTURE_S = 86400  # default range end: far enough ahead of any server clock


def _utc(basis: TimeBasis, server_s: int) -> int:
    return basis.to_utc(server_s) if server_s else 0


def position_out(p: Record, basis: TimeBasis) -> Position:
    return Position(
        ticket=p["ticket"],
        symbol=p["symbol"],
        type=e.name(e.POSITION_TYPES, p["type"]),
        volume=p["volume"],
        price_open=p["price_open"],
        price_current=p["price_current"],
        profit=p["profit"],
        swap=p["swap"],
        time_open=_utc(basis, p["time"]),
        comment=p["comment"],
        sl=p["sl"],
        tp=p["tp"],
        magic=p["magic"],
        identifier=p["identifier"],
        time_update=_utc(basis, p["time_update"]),
        reason=e.name(e.ORDER_REASONS, p["reason"]),
        external_id=p["external_id"],
    )


def order_out(o: Record, basis: TimeBasis) -> Order:
    return Order(
        ticket=o["ticket"],
        symbol=o["symbol"],
        type=e.name(e.ORDER_TYPES, o["type"]),
        state=e.name(e.ORDER_STATES, o["state"]),
        volume_initial=o["volume_initial"],
        volume_current=o["volume_current"],
        price_open=o["price_open"],
        price_current=o["price_current"],
        price_stoplimit=o["price_stoplimit"],
        sl=o["sl"],
        tp=o["tp"],
        time_setup=_utc(basis, o["time_setup"]),
        time_done=_utc(basis, o["time_done"]),
        time_expiration=_utc(basis, o["time_expiration"]),
        type_time=e.name(e.ORDER_TIMES, o["type_time"]),
        type_filling=e.name(e.ORDER_FILLINGS, o["type_filling"]),
        magic=o["magic"],
        position_id=o["position_id"],
        position_by_id=o["position_by_id"],
        reason=e.name(e.ORDER_REASONS, o["reason"]),
        comment=o["comment"],
        external_id=o["external_id"],
    )


def deal_out(d: Record, basis: TimeBasis) -> Deal:
    return Deal(
        ticket=d["ticket"],
        order=d["order"],
        time=_utc(basis, d["time"]),
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


async def positions(
    terminal: TerminalPort, clocks: ServerClocks, *, symbol: str | None, ticket: int | None
) -> PositionsResponse:
    rows = await terminal.positions_get(symbol=symbol, ticket=ticket)
    if symbol is not None and ticket is not None:  # MT5 lets ticket win; we want both
        rows = [r for r in rows if r["symbol"] == symbol]
    basis = await clocks.basis(terminal)
    return PositionsResponse(
        positions=[position_out(r, basis) for r in rows], **basis_fields(basis)
    )


async def orders(
    terminal: TerminalPort, clocks: ServerClocks, *, symbol: str | None, ticket: int | None
) -> OrdersResponse:
    rows = await terminal.orders_get(symbol=symbol, ticket=ticket)
    if symbol is not None and ticket is not None:
        rows = [r for r in rows if r["symbol"] == symbol]
    basis = await clocks.basis(terminal)
    return OrdersResponse(orders=[order_out(r, basis) for r in rows], **basis_fields(basis))


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
        """[date_from, date_to] in server time; defaults: all history up to now."""
        date_from = basis.to_server(self.start) if self.start is not None else 0
        if self.end is not None:
            return date_from, basis.to_server(self.end)
        return date_from, basis.to_server(int(time.time())) + _FUTURE_S


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
