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

router = APIRouter(tags=["trading"])

Position = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Position ID")]
Start = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC); default: all")]
End = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC); default: now")]


@router.get("/history/deals")
async def history_deals(
    terminal: TerminalDep,
    clocks: ClocksDep,
    start_date: Start = None,
    end_date: End = None,
    ticket: TicketQuery = None,
    order: Annotated[
        int | None, Query(ge=1, description="Order ticket that made the deals")
    ] = None,
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
