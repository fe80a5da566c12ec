"""POST /api/v1/calculate/position-size, /margin, /profit, /swap.

The account is named in the body (``account_id``, default: your current account)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.accounts.opener import OpenerDep
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

router = APIRouter(prefix="/calculate", tags=["calculate"])


@router.post("/position-size")
async def position_size(body: PositionSizeBody, opener: OpenerDep) -> PositionSize:
    """Lots for a risk (% of balance or equity, or an amount) at a stop (price or points),
    rounded down to the volume step and clamped to the symbol's limits, with its margin."""
    async with opener.open(body.account_id) as ctx:
        return await service.position_size(ctx.terminal, body)


@router.post("/margin")
async def margin(body: MarginBody, opener: OpenerDep) -> Margin:
    """The margin an order needs (``order_calc_margin``), in the account currency."""
    async with opener.open(body.account_id) as ctx:
        return await service.margin(ctx.terminal, body)


@router.post("/profit")
async def profit(body: ProfitBody, opener: OpenerDep) -> Profit:
    """The profit of a trade from open to close price (``order_calc_profit``)."""
    async with opener.open(body.account_id) as ctx:
        return await service.profit(ctx.terminal, body)


@router.post("/swap")
async def swap(body: SwapBody, opener: OpenerDep) -> Swap:
    """The holding cost of a position over a number of rollovers, from the symbol's swap mode
    and rates (three times on the symbol's triple-swap weekday)."""
    async with opener.open(body.account_id) as ctx:
        return await service.swap(ctx.terminal, body)
