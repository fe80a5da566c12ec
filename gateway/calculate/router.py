"""POST /api/v1/calculate/position-size, /margin, /profit, /swap.

The account is named in the body (``account_id``, default: your current account) or in
``?account_id=`` like every account-scoped endpoint; the body wins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from gateway.accounts.context import AccountIdQuery, get_account_context
from gateway.calculate import service
from gateway.calculate.schemas import (
    Margin,
    MarginBody,
    PositionSize,
    PositionSizeBody,
    Profit,
    ProfitBody,
    Swap,
    SwapBody,
)
from gateway.deps import CurrentUser, KeyringDep, PoolDep, SettingsDep
from gateway.terminal.port import TerminalPort

router = APIRouter(prefix="/calculate", tags=["calculate"])
_context = asynccontextmanager(get_account_context)


class Caller:
    """What opening an account session needs, gathered once per request."""

    def __init__(
        self,
        request: Request,
        user: CurrentUser,
        keyring: KeyringDep,
        settings: SettingsDep,
        pool: PoolDep,
        account_id: AccountIdQuery = None,
    ) -> None:
        self.args = (request, user, keyring, settings, pool)
        self.account_id = account_id

    @asynccontextmanager
    async def terminal(self, account_id: str | None) -> AsyncIterator[TerminalPort]:
        async with _context(*self.args, account_id or self.account_id) as ctx:
            yield ctx.terminal


CallerDep = Annotated[Caller, Depends()]


@router.post("/position-size")
async def position_size(body: PositionSizeBody, caller: CallerDep) -> PositionSize:
    """Lots for a risk (% of balance or equity, or an amount) at a stop (price or points),
    rounded down to the volume step and clamped to the symbol's limits, with its margin."""
    async with caller.terminal(body.account_id) as terminal:
        return await service.position_size(terminal, body)


@router.post("/margin")
async def margin(body: MarginBody, caller: CallerDep) -> Margin:
    """The margin an order needs (``order_calc_margin``), in the account currency."""
    async with caller.terminal(body.account_id) as terminal:
        return await service.margin(terminal, body)


@router.post("/profit")
async def profit(body: ProfitBody, caller: CallerDep) -> Profit:
    """The profit of a trade from open to close price (``order_calc_profit``)."""
    async with caller.terminal(body.account_id) as terminal:
        return await service.profit(terminal, body)


@router.post("/swap")
async def swap(body: SwapBody, caller: CallerDep) -> Swap:
    """The holding cost of a position over a number of rollovers, from the symbol's swap mode
    and rates (three times on the symbol's triple-swap weekday)."""
    async with caller.terminal(body.account_id) as terminal:
        return await service.swap(terminal, body)
