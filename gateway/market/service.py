"""Symbols, quotes, bars and ticks: validated input in, UTC times out.

Ticks are in ``ticks.py``; how much one request may ask for is in ``limits.py``.

A failing data call is classified on the error path only (no extra round trip on success):
the terminal lost its broker → 503; the symbol does not exist → SYMBOL_NOT_FOUND; it exists but
is not in Market Watch → it is selected and the call retried once; otherwise → NO_DATA.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import numpy as np
import pydantic_core

from gateway import mt5enums as e
from gateway.errors import NoData, SymbolNotFound, TerminalUnavailable
from gateway.market.limits import BARS_PER_CALL, check_group, check_range_bars
from gateway.market.schemas import (
    ServerTime,
    SymbolResponse,
    SymbolSpec,
    SymbolsResponse,
    TickResponse,
)
from gateway.schemas import PrebuiltJSON, basis_fields, with_rows
from gateway.terminal.errors import MT5Error
from gateway.terminal.port import Call, Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis
from gateway.timeparams import parse_range

T = TypeVar("T")

_IPC_CODES = range(-10005, -9999)


async def symbol_call(terminal: TerminalPort, symbol: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except MT5Error as exc:
        if exc.code in _IPC_CODES:
            raise
        failure = exc
    await _require_broker(terminal)
    info = await _symbol_info(terminal, symbol)
    if not info.get("select", True):
        await terminal.symbol_select(symbol, True)
        try:
            return await call()
        except MT5Error as exc:
            failure = exc
    raise NoData(f"No data for {symbol}", mt5_error=(failure.code, failure.mt5_message))


async def _require_broker(terminal: TerminalPort) -> None:
    """Market data fails while the terminal has lost its broker: that is a 503, not a 404."""
    if not (await terminal.terminal_info()).get("connected", True):
        raise TerminalUnavailable("MT5 terminal not connected to its broker")


async def _symbol_info(terminal: TerminalPort, symbol: str) -> Record:
    try:
        return await terminal.symbol_info(symbol)
    except MT5Error as exc:
        if exc.code in _IPC_CODES:
            raise
        raise SymbolNotFound(symbol) from None


async def no_data(terminal: TerminalPort, symbol: str) -> NoData:
    await _symbol_info(terminal, symbol)  # raises SymbolNotFound for an unknown symbol
    return NoData(f"No data for {symbol}")


def spec_out(s: Record, basis: TimeBasis) -> SymbolSpec:
    return SymbolSpec(
        name=s["name"],
        description=s["description"],
        path=s["path"],
        currency_base=s["currency_base"],
        currency_profit=s["currency_profit"],
        currency_margin=s["currency_margin"],
        digits=s["digits"],
        point=s["point"],
        spread=s["spread"],
        spread_float=s["spread_float"],
        trade_mode=e.name(e.SYMBOL_TRADE_MODES, s["trade_mode"]),
        execution_mode=e.name(e.EXECUTION_MODES, s["trade_exemode"]),
        calc_mode=e.name(e.CALC_MODES, s["trade_calc_mode"]),
        chart_mode=e.name(e.CHART_MODES, s["chart_mode"]),
        filling_modes=e.flags(e.FILLING_FLAGS, s["filling_mode"]),
        market_order_filling=e.market_fillings(s["trade_exemode"], s["filling_mode"]),
        order_modes=e.flags(e.ORDER_MODE_FLAGS, s["order_mode"]),
        expiration_modes=e.flags(e.EXPIRATION_FLAGS, s["expiration_mode"]),
        order_gtc_mode=e.name(e.GTC_MODES, s["order_gtc_mode"]),
        volume_min=s["volume_min"],
        volume_max=s["volume_max"],
        volume_step=s["volume_step"],
        volume_limit=s["volume_limit"],
        stops_level=s["trade_stops_level"],
        freeze_level=s["trade_freeze_level"],
        contract_size=s["trade_contract_size"],
        tick_size=s["trade_tick_size"],
        tick_value=s["trade_tick_value"],
        swap_mode=e.name(e.SWAP_MODES, s["swap_mode"]),
        swap_long=s["swap_long"],
        swap_short=s["swap_short"],
        swap_rollover3days=e.name(e.WEEKDAYS, s["swap_rollover3days"]),
        margin_initial=s["margin_initial"],
        margin_maintenance=s["margin_maintenance"],
        margin_hedged=s["margin_hedged"],
        bid=s["bid"],
        ask=s["ask"],
        last=s["last"],
        time=basis.to_utc(s["time"]) if s["time"] else 0,
        select=s["select"],
        visible=s["visible"],
        custom=s["custom"],
    )


async def list_symbols(
    terminal: TerminalPort, clocks: ServerClocks, group: str | None, details: bool
) -> SymbolsResponse:
    """Symbol names (the seed contract); with ``details`` also every full specification,
    from the same single ``symbols_get`` round trip. The group filter is bounded first."""
    check_group(group)
    rows = await terminal.symbols_get(group)
    names = [str(r["name"]) for r in rows]
    if not details:
        return SymbolsResponse(symbols=names, count=len(names))
    basis = await clocks.basis(terminal)
    specs = [spec_out(r, basis) for r in rows]
    return SymbolsResponse(symbols=names, count=len(names), specs=specs)


async def symbol(terminal: TerminalPort, clocks: ServerClocks, name: str) -> SymbolResponse:
    info = await _symbol_info(terminal, name)
    basis = await clocks.basis(terminal)
    return SymbolResponse(**spec_out(info, basis).model_dump(), **basis_fields(basis))


async def tick(terminal: TerminalPort, clocks: ServerClocks, symbol: str) -> TickResponse:
    t = await symbol_call(terminal, symbol, lambda: terminal.symbol_info_tick(symbol))
    basis = await clocks.basis(terminal)
    shift = basis.offset_s or 0
    return TickResponse(
        symbol=symbol,
        time=t["time"] - shift,
        time_msc=t["time_msc"] - shift * 1000,
        bid=t["bid"],
        ask=t["ask"],
        last=t["last"],
        volume=t["volume"],
        volume_real=t["volume_real"],
        flags=e.flags(e.TICK_FLAGS, t["flags"]),
        **basis_fields(basis),
    )


# (answer key, array field, units of a time shift per second; 0 for fields that are not times)
Columns = tuple[tuple[str, str, int], ...]
BAR_COLUMNS: Columns = (
    ("time", "time", 1),
    ("open", "open", 0),
    ("high", "high", 0),
    ("low", "low", 0),
    ("close", "close", 0),
    ("volume", "tick_volume", 0),
    ("spread", "spread", 0),
    ("real_volume", "real_volume", 0),
)
TICK_COLUMNS: Columns = (
    ("time", "time", 1),
    ("time_msc", "time_msc", 1000),
    ("bid", "bid", 0),
    ("ask", "ask", 0),
    ("last", "last", 0),
    ("volume", "volume", 0),
    ("volume_real", "volume_real", 0),
    ("flags", "flags", 0),
)


def rows_out(array: np.ndarray, columns: Columns, basis: TimeBasis) -> list[dict[str, Any]]:
    """JSON-ready rows straight from the array's columns, times moved to the answer's basis."""
    shift = basis.offset_s or 0
    values = [
        (array[field].astype(np.int64) - shift * unit).tolist() if unit else array[field].tolist()
        for _, field, unit in columns
    ]
    keys = [key for key, _, _ in columns]
    return [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]


def rows_json(array: np.ndarray, columns: Columns, basis: TimeBasis) -> bytes:
    """What :func:`rows_out` gives, as JSON text (the objects, comma-separated), without a
    dict per row: each column is written by pydantic-core in one call (numbers only, so its
    text splits at the commas), then each row is one formatting of the columns' pieces. About
    half the work of building and serializing the row dicts (``make bench`` times it)."""
    if len(array) == 0:
        return b""
    shift = basis.offset_s or 0
    pieces = []
    for _, field, unit in columns:
        values = array[field]
        listed = (values.astype(np.int64) - shift * unit).tolist() if unit else values.tolist()
        pieces.append(pydantic_core.to_json(listed)[1:-1].split(b","))
    row = ("{" + ",".join(f'"{key}":%b' for key, _, _ in columns) + "}").encode()
    return b",".join([row % values for values in zip(*pieces, strict=True)])


async def bars(
    terminal: TerminalPort, clocks: ServerClocks, symbol: str, timeframe: str, count: int
) -> PrebuiltJSON:
    """The latest ``count`` bars, oldest first (the newest one may still be forming)."""
    tf = e.TIMEFRAMES[timeframe]
    calls: list[Call] = [
        ("copy_rates_from_pos", (symbol, tf, 0, count), {}),
        ("account_info", (), {}),
    ]
    rates, account = await symbol_call(terminal, symbol, lambda: terminal.batch(calls))
    if len(rates) == 0:
        raise await no_data(terminal, symbol)
    basis = await clocks.basis(terminal, str(account["server"]))  # no second round trip
    head = {"symbol": symbol, "timeframe": timeframe, "count": len(rates)}
    rows = rows_json(rates, BAR_COLUMNS, basis)
    return PrebuiltJSON(with_rows(head, "data", rows, basis_fields(basis)))


def range_chunks(date_from: int, date_to: int, timeframe: str) -> list[tuple[int, int]]:
    """Split [date_from, date_to] (inclusive) into spans of at most BARS_PER_CALL bars."""
    span = BARS_PER_CALL * e.timeframe_seconds(timeframe)
    return [(a, min(a + span - 1, date_to)) for a in range(date_from, date_to + 1, span)]


async def bars_range(
    terminal: TerminalPort,
    clocks: ServerClocks,
    symbol: str,
    timeframe: str,
    start: str | None,
    end: str | None,
) -> PrebuiltJSON:
    """Bars whose open time lies in [start, end] (UTC), fetched in chunks."""
    tf_s = e.timeframe_seconds(timeframe)
    start_s, end_s = parse_range(start, end, now=int(time.time()), default_span_s=100 * tf_s)
    check_range_bars((end_s - start_s) // tf_s, timeframe)
    basis = await clocks.basis(terminal)
    tf = e.TIMEFRAMES[timeframe]
    parts = []
    for a, b in range_chunks(basis.to_server(start_s), basis.to_server(end_s), timeframe):
        parts.append(
            await symbol_call(
                terminal, symbol, partial(terminal.copy_rates_range, symbol, tf, a, b)
            )
        )
    rates = np.concatenate(parts) if parts else np.empty(0)
    if len(rates) == 0:
        raise await no_data(terminal, symbol)
    head = {"symbol": symbol, "timeframe": timeframe, "count": len(rates)}
    tail = {"start_date": start_s, "end_date": end_s} | basis_fields(basis)
    return PrebuiltJSON(with_rows(head, "data", rows_json(rates, BAR_COLUMNS, basis), tail))


async def server_time(terminal: TerminalPort, clocks: ServerClocks) -> ServerTime:
    basis = await clocks.basis(terminal)
    now = int(time.time())
    return ServerTime(
        server=basis.server,
        time=now,
        server_time=basis.to_server(now) if basis.offset_s is not None else None,
        offset_source=basis.source,
        iso=datetime.fromtimestamp(now, UTC).isoformat(),
        **basis_fields(basis),
    )
