"""/api/v1/account/info, /balance, /equity, /snapshot: reads of the caller's account.

Each takes ``?account_id=`` (default: the caller's current account; see
``gateway.accounts.context``)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.account import service
from gateway.account.schemas import AccountInfo, Balance, Equity, Snapshot
from gateway.accounts.context import AccountDep
from gateway.deps import ClocksDep

router = APIRouter(tags=["account"])


@router.get("/account/info")
async def account_info(ctx: AccountDep) -> AccountInfo:
    """Balance, equity, margin and the other figures of the logged-in account."""
    return await service.account_info(ctx.terminal)


@router.get("/balance")
async def balance(ctx: AccountDep) -> Balance:
    """The account balance and credit."""
    return await service.balance(ctx.terminal)


@router.get("/equity")
async def equity(ctx: AccountDep) -> Equity:
    """Equity with the balance, floating profit and margin it comes from."""
    return await service.equity(ctx.terminal)


@router.get("/snapshot")
async def snapshot(ctx: AccountDep, clocks: ClocksDep) -> Snapshot:
    """Account, open positions and pending orders, consistent with each other."""
    return await service.snapshot(ctx.terminal, clocks)
