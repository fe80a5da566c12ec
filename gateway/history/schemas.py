"""Deals as MT5 reports them; historical orders reuse ``gateway.portfolio.schemas.Order``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas import TimeBasisFields


class Deal(BaseModel):
    ticket: int
    order: int
    time: int
    type: str = Field(description="buy, sell, balance, commission, …")
    entry: str = Field(description="in | out | inout | out_by")
    position_id: int
    symbol: str
    volume: float
    price: float
    profit: float
    commission: float
    swap: float
    fee: float
    magic: int
    reason: str
    comment: str
    external_id: str


class DealsResponse(TimeBasisFields):
    deals: list[Deal]
