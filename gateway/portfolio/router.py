"""What an account holds now: /api/v1/account/info, /balance, /equity, /snapshot, and the
open /positions and pending /orders (reads; sending orders is ``gateway.trading``).

Each takes ``?account_id=`` (default: the caller's current account; see
``gateway.accounts.context``)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.accounts.context import AccountDep
from gateway.deps import ClocksDep, SymbolQuery, TicketQuery
from gateway.portfolio import service
from gateway.portfolio.schemas import (
    AccountInfo,
    Balance,
    Equity,
    OrdersResponse,
    PositionsResponse,
    Snapshot,
)

router = APIRouter()


@router.get("/account/info", tags=["account"])
async def account_info(ctx: AccountDep) -> AccountInfo:
    """Balance, equity, margin and the other figures of the logged-in account."""
    return await service.account_info(ctx.terminal)


@router.get("/balance", tags=["account"])
async def balance(ctx: AccountDep) -> Balance:
    """The account balance and credit."""
    return await service.balance(ctx.terminal)


@router.get("/equity", tags=["account"])
async def equity(ctx: AccountDep) -> Equity:
    """Equity with the balance, floating profit and margin it comes from."""
    return await service.equity(ctx.terminal)


@router.get("/snapshot", tags=["account"])
async def snapshot(ctx: AccountDep, clocks: ClocksDep) -> Snapshot:
    """Account, open positions and pending orders, consistent with each other."""
    return await service.snapshot(ctx.terminal, clocks)


@router.get("/positions", tags=["trading"])
async def positions(
    ctx: AccountDep, clocks: ClocksDep, symbol: SymbolQuery = None, ticket: TicketQuery = None
) -> PositionsResponse:
    """Open positions, optionally of one symbol or one ticket."""
    server = ctx.account.server
    return await service.positions(ctx.terminal, clocks, server, symbol=symbol, ticket=ticket)


@router.get("/orders", tags=["trading"])
async def orders(
    ctx: AccountDep, clocks: ClocksDep, symbol: SymbolQuery = None, ticket: TicketQuery = None
) -> OrdersResponse:
    """Pending orders, optionally of one symbol or one ticket."""
    server = ctx.account.server
    return await service.orders(ctx.terminal, clocks, server, symbol=symbol, ticket=ticket)
