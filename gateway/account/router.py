"""/api/v1/account/info, /balance, /equity, /snapshot."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.account import service
from gateway.account.schemas import AccountInfo, Balance, Equity, Snapshot
from gateway.deps import ClocksDep, TerminalDep

router = APIRouter(tags=["account"])


@router.get("/account/info")
async def account_info(terminal: TerminalDep) -> AccountInfo:
    """Balance, equity, margin and the other figures of the logged-in account."""
    return await service.account_info(terminal)


@router.get("/balance")
async def balance(terminal: TerminalDep) -> Balance:
    """The account balance and credit."""
    return await service.balance(terminal)


@router.get("/equity")
async def equity(terminal: TerminalDep) -> Equity:
    """Equity with the balance, floating profit and margin it comes from."""
    return await service.equity(terminal)


@router.get("/snapshot")
async def snapshot(terminal: TerminalDep, clocks: ClocksDep) -> Snapshot:
    """Account, open positions and pending orders, consistent with each other."""
    return await service.snapshot(terminal, clocks)
