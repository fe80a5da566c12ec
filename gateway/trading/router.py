"""/api/v1/positions, /orders, /history/deals, /history/orders (reads), plus the trading and
audit routers included below, so ``gateway.main`` needs only this one router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.accounts.context import TerminalDep
from gateway.audit.router import router as audit_router
from gateway.deps import ClocksDep, SymbolQuery
from gateway.trading import service
from gateway.trading.schemas import DealsResponse, OrdersResponse, PositionsResponse
from gateway.trading.trade_router import router as trade_router

router = APIRouter(tags=["trading"])

Ticket = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Ticket number")]
Position = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Position ID")]
Start = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC); default: all")]
End = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC); default: now")]


@router.get("/positions")
async def positions(
    terminal: TerminalDep, clocks: ClocksDep, symbol: SymbolQuery = None, ticket: Ticket = None
) -> PositionsResponse:
    """Open positions, optionally of one symbol or one ticket."""
    return await service.positions(terminal, clocks, symbol=symbol, ticket=ticket)


@router.get("/orders")
async def orders(
    terminal: TerminalDep, clocks: ClocksDep, symbol: SymbolQuery = None, ticket: Ticket = None
) -> OrdersResponse:
    """Pending orders, optionally of one symbol or one ticket."""
    return await service.orders(terminal, clocks, symbol=symbol, ticket=ticket)


@router.get("/history/deals")
async def history_deals(
    terminal: TerminalDep,
    clocks: ClocksDep,
    start_date: Start = None,
    end_date: End = None,
    ticket: Ticket = None,
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
    ticket: Ticket = None,
    position: Position = None,
) -> OrdersResponse:
    """Historical orders in a date range, or of one ticket or position."""
    query = service.HistoryQuery(start_date, end_date, ticket=ticket, position=position)
    return await service.history_orders(terminal, clocks, query)


router.include_router(trade_router)
router.include_router(audit_router)
