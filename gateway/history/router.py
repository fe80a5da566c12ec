"""The account's history: /api/v1/history/deals and /history/orders, by UTC date range or by
one ticket, order or position."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.accounts.context import TerminalDep
from gateway.deps import ClocksDep, TicketQuery
from gateway.history import service
from gateway.history.schemas import DealsResponse
from gateway.portfolio.schemas import OrdersResponse
from gateway.validation import Ticket

router = APIRouter(tags=["trading"])

Position = Annotated[Ticket | None, Query(description="Position ID")]
OrderTicket = Annotated[Ticket | None, Query(description="Order ticket that made the deals")]
Start = Annotated[
    str | None,
    Query(max_length=64, description="ISO-8601 or epoch seconds (UTC); default: all"),
]
End = Annotated[
    str | None,
    Query(
        max_length=64,
        description="ISO-8601 or epoch seconds (UTC), at most 2147483647 (MT5's last second; "
        "a range reaching past it is read up to MT5's end of time); default: now",
    ),
]


@router.get("/history/deals")
async def history_deals(
    terminal: TerminalDep,
    clocks: ClocksDep,
    start_date: Start = None,
    end_date: End = None,
    ticket: TicketQuery = None,
    order: OrderTicket = None,
    position: Position = None,
) -> DealsResponse:
    """Deals in a date range, or of one deal ticket, order or position."""
    query = service.HistoryQuery(
        start_date, end_date, ticket=ticket, order=order, position=position
    )
    return await service.history_deals(terminal, clocks, query)


@router.get("/history/orders")
async def history_orders(
    terminal: TerminalDep,
    clocks: ClocksDep,
    start_date: Start = None,
    end_date: End = None,
    ticket: TicketQuery = None,
    position: Position = None,
) -> OrdersResponse:
    """Historical orders in a date range, or of one ticket or position."""
    query = service.HistoryQuery(start_date, end_date, ticket=ticket, position=position)
    return await service.history_orders(terminal, clocks, query)
