"""/api/v1/symbols…, /market-data…, /ticks…, /server-time.

Market data is not account-specific: it comes from any terminal on the broker server of the
caller's account (``?account_id=`` picks which of theirs), without switching accounts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from gateway.accounts.context import MarketDep
from gateway.deps import ClocksDep, SymbolPath
from gateway.market import service
from gateway.market import ticks as tick_data
from gateway.market.limits import (
    MAX_BARS,
    MAX_GROUP_CHARS,
    MAX_GROUP_PARTS,
    MAX_GROUP_STARS,
    MAX_TICKS,
)
from gateway.market.schemas import (
    MarketDataResponse,
    RangeResponse,
    ServerTime,
    SymbolResponse,
    SymbolsResponse,
    TickResponse,
    TicksResponse,
    Timeframe,
)

router = APIRouter(tags=["market"])

H1 = Timeframe("H1")

TimeframeQuery = Annotated[Timeframe, Query(description="MT5 timeframe name")]
Group = Annotated[
    str | None,
    Query(
        max_length=MAX_GROUP_CHARS,
        pattern=r"^[^\x00-\x1f]*$",
        description=(
            f"MT5 group filter, e.g. '*USD*,!EUR*': at most {MAX_GROUP_CHARS} characters,"
            f" {MAX_GROUP_PARTS} comma-separated parts and {MAX_GROUP_STARS} '*'"
        ),
    ),
]
Start = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC)")]
End = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC); default: now")]


@router.get("/symbols")
async def symbols(
    terminal: MarketDep,
    clocks: ClocksDep,
    group: Group = None,
    details: Annotated[bool, Query(description="Also return every full specification")] = False,
) -> SymbolsResponse:
    """Names of the symbols the broker offers, optionally filtered by an MT5 group pattern."""
    return await service.list_symbols(terminal, clocks, group, details)


@router.get("/symbols/{symbol}")
async def symbol(terminal: MarketDep, clocks: ClocksDep, symbol: SymbolPath) -> SymbolResponse:
    """A symbol's full trading specification: modes, volume limits, stop levels, quote."""
    return await service.symbol(terminal, clocks, symbol)


@router.get("/symbols/{symbol}/tick")
async def tick(terminal: MarketDep, clocks: ClocksDep, symbol: SymbolPath) -> TickResponse:
    """The symbol's latest tick."""
    return await service.tick(terminal, clocks, symbol)


@router.get("/market-data/{symbol}", response_model=MarketDataResponse)
async def market_data(
    terminal: MarketDep,
    clocks: ClocksDep,
    symbol: SymbolPath,
    timeframe: TimeframeQuery = H1,
    bars: Annotated[int, Query(ge=1, le=MAX_BARS, description="Number of bars")] = 100,
) -> Response:
    """The latest bars (OHLCV), oldest first; the newest bar may still be forming."""
    return await service.bars(terminal, clocks, symbol, timeframe.value, bars)


@router.get("/market-data/{symbol}/range", response_model=RangeResponse)
async def market_data_range(
    terminal: MarketDep,
    clocks: ClocksDep,
    symbol: SymbolPath,
    timeframe: TimeframeQuery = H1,
    start_date: Start = None,
    end_date: End = None,
) -> Response:
    """Bars opened between start_date and end_date (default: the 100 bars before end_date)."""
    return await service.bars_range(terminal, clocks, symbol, timeframe.value, start_date, end_date)


@router.get("/ticks/{symbol}", response_model=TicksResponse)
async def ticks(
    terminal: MarketDep,
    clocks: ClocksDep,
    symbol: SymbolPath,
    count: Annotated[int, Query(ge=1, le=MAX_TICKS, description="Maximum number of ticks")] = 1000,
    start_date: Start = None,
    end_date: End = None,
    flags: Annotated[Literal["all", "info", "trade"], Query()] = "all",
) -> Response:
    """Ticks from start_date (to end_date), or the latest `count` ticks without start_date."""
    return await tick_data.ticks(
        terminal, clocks, symbol, count=count, start=start_date, end=end_date, flags=flags
    )


@router.get("/server-time")
async def server_time(terminal: MarketDep, clocks: ClocksDep) -> ServerTime:
    """UTC now, the broker server's clock and the offset between them (and where it came from)."""
    return await service.server_time(terminal, clocks)
