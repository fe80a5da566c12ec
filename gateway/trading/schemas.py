"""Positions, orders and deals. Seed position fields (ticket … comment) keep their names."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas import TimeBasisFields


class Position(BaseModel):
    ticket: int
    symbol: str
    type: str = Field(description="buy | sell")
    volume: float
    price_open: float
    price_current: float
    profit: float
    swap: float
    time_open: int = Field(description="Open time, epoch seconds (see time_basis)")
    comment: str
    sl: float
    tp: float
    magic: int
    identifier: int = Field(description="Position ID shared by its orders and deals")
    time_update: int
    reason: str
    external_id: str


class PositionsResponse(TimeBasisFields):
    positions: list[Position]


class Order(BaseModel):
    ticket: int
    symbol: str
    type: str = Field(description="buy_limit, sell_stop, … (also buy/sell for market orders)")
    state: str
    volume_initial: float
    volume_current: float
    price_open: float
    price_current: float
    price_stoplimit: float
    sl: float
    tp: float
    time_setup: int
    time_done: int
    time_expiration: int = Field(description="0 when the order does not expire")
    type_time: str
    type_filling: str
    magic: int
    position_id: int
    position_by_id: int
    reason: str
    comment: str
    external_id: str


class OrdersResponse(TimeBasisFields):
    orders: list[Order]


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
