"""Market answers. The bar shape (time, open, high, low, close, volume) is the seed contract."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from gateway.mt5enums import TIMEFRAMES
from gateway.schemas import TimeBasisFields

Timeframe = StrEnum("Timeframe", {name: name for name in TIMEFRAMES})  # type: ignore[misc]


class SymbolSpec(BaseModel):
    """A symbol's trading specification and latest quote."""

    name: str
    description: str
    path: str
    currency_base: str
    currency_profit: str
    currency_margin: str
    digits: int
    point: float
    spread: int = Field(description="Current spread in points")
    spread_float: bool
    trade_mode: str = Field(description="disabled | long_only | short_only | close_only | full")
    execution_mode: str = Field(description="request | instant | market | exchange")
    calc_mode: str
    chart_mode: str
    filling_modes: list[str] = Field(description="Filling flags of the symbol: fok, ioc, boc")
    market_order_filling: list[str] = Field(
        description="Filling policies a market order may use, given the execution mode"
    )
    order_modes: list[str] = Field(description="market, limit, stop, stop_limit, sl, tp, close_by")
    expiration_modes: list[str] = Field(description="gtc, day, specified, specified_day")
    order_gtc_mode: str
    volume_min: float
    volume_max: float
    volume_step: float
    volume_limit: float = Field(description="Max total volume per direction; 0 = unlimited")
    stops_level: int = Field(description="Minimal SL/TP distance from the price, in points")
    freeze_level: int = Field(description="Distance in points inside which orders are frozen")
    contract_size: float
    tick_size: float
    tick_value: float
    swap_mode: str
    swap_long: float
    swap_short: float
    swap_rollover3days: str
    margin_initial: float
    margin_maintenance: float
    margin_hedged: float
    bid: float
    ask: float
    last: float
    time: int = Field(description="Time of the latest quote (see time_basis)")
    select: bool = Field(description="Shown in Market Watch")
    visible: bool
    custom: bool


class SymbolsResponse(BaseModel):
    symbols: list[str]
    count: int
    specs: list[SymbolSpec] | None = Field(
        default=None, description="Full specifications, in the order of `symbols` (details=true)"
    )


class SymbolResponse(SymbolSpec, TimeBasisFields):
    pass


class TickResponse(TimeBasisFields):
    symbol: str
    time: int = Field(description="Epoch seconds (see time_basis)")
    time_msc: int = Field(description="Epoch milliseconds (see time_basis)")
    bid: float
    ask: float
    last: float
    volume: int
    volume_real: float
    flags: list[str] = Field(description="What changed: bid, ask, last, volume, buy, sell")


class Bar(BaseModel):
    time: int = Field(description="Bar open time, epoch seconds (see time_basis)")
    open: float
    high: float
    low: float
    close: float
    volume: int = Field(description="Tick volume")
    spread: int = Field(description="Minimal spread in the bar, points")
    real_volume: int = Field(description="Exchange volume (0 for OTC symbols)")


class MarketDataResponse(TimeBasisFields):
    symbol: str
    timeframe: str
    count: int
    data: list[Bar]


class RangeResponse(MarketDataResponse):
    start_date: int = Field(description="Requested range start, UTC epoch seconds")
    end_date: int = Field(description="Requested range end, UTC epoch seconds")


class TickRow(BaseModel):
    time: int
    time_msc: int
    bid: float
    ask: float
    last: float
    volume: int
    volume_real: float
    flags: int = Field(
        description="TICK_FLAG bits: 2 bid, 4 ask, 8 last, 16 volume, 32 buy, 64 sell"
    )


class TicksResponse(TimeBasisFields):
    symbol: str
    flags: Literal["all", "info", "trade"]
    count: int
    data: list[TickRow]


class ServerTime(TimeBasisFields):
    server: str
    time: int = Field(description="Current true UTC time, epoch seconds")
    server_time: int | None = Field(description="The broker server's wall clock, epoch seconds")
    offset_source: Literal["configured", "detected", "unknown"]
    iso: str = Field(description="Current UTC time, ISO-8601")
