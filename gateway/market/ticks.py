"""Ticks for /api/v1/ticks/{symbol}: at most ``count`` of them, and never more asked of the
terminal than one bounded call can hold.

``copy_ticks_range`` would make the terminal build every tick of a range (a busy symbol has
hundreds of thousands a week) only for the gateway to keep a few, so it is not used at all.
Everything goes through ``copy_ticks_from(date, count)``, which stops at ``count``:

- from ``start_date``: the first ``count`` ticks from it, cut at ``end_date`` if one is given;
- without ``start_date``: the last ``count`` ticks up to ``end_date`` (default: the last quote).
  ``copy_ticks_from`` only reads forwards, so a look-back window grows (x4 from a minute up to
  a week) until it holds ``count`` ticks; each call asks for at most ``2 * count`` (at least
  4,096, at most MAX_TICKS) ticks, and a window holding more than that is narrowed by bisection.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from gateway import mt5enums as e
from gateway.errors import ValidationFailed
from gateway.market.limits import MAX_TICKS
from gateway.market.service import TICK_COLUMNS, no_data, rows_out, symbol_call
from gateway.schemas import PrebuiltJSON, basis_fields
from gateway.terminal.port import TerminalPort
from gateway.terminal.servertime import ServerClocks
from gateway.timeparams import parse_time

FIRST_WINDOW_S = 60
MAX_WINDOW_S = 7 * 86400  # the latest ticks are looked for at most a week back
MIN_ASK = 4096


async def ticks(
    terminal: TerminalPort,
    clocks: ServerClocks,
    symbol: str,
    *,
    count: int,
    start: str | None,
    end: str | None,
    flags: str,
) -> PrebuiltJSON:
    """Ticks from ``start`` (up to ``end``), at most ``count``; without ``start`` the latest
    ``count`` ticks up to ``end`` (default: the last quote)."""
    if not 1 <= count <= MAX_TICKS:
        raise ValidationFailed(f"count: between 1 and {MAX_TICKS} ticks per request")
    start_s = parse_time(start, "start_date") if start is not None else None
    end_s = parse_time(end, "end_date") if end is not None else None
    if start_s is not None and end_s is not None and start_s > end_s:
        raise ValidationFailed("start_date must not be after end_date")
    basis = await clocks.basis(terminal)
    mode = e.COPY_TICKS[flags]
    if start_s is not None:
        frm = basis.to_server(start_s)
        rows = await symbol_call(
            terminal, symbol, partial(terminal.copy_ticks_from, symbol, frm, count, mode)
        )
        if end_s is not None:
            rows = rows[rows["time_msc"] <= basis.to_server(end_s) * 1000]
    else:
        if end_s is not None:
            to = basis.to_server(end_s)
        else:  # anchor at the last quote: markets close, and clocks disagree
            last = await symbol_call(terminal, symbol, partial(terminal.symbol_info_tick, symbol))
            to = int(last["time"]) + 1
        rows = await latest_ticks(terminal, symbol, to, count, mode)
    if len(rows) == 0:
        raise await no_data(terminal, symbol)
    data = rows_out(rows, TICK_COLUMNS, basis)
    return PrebuiltJSON(
        {"symbol": symbol, "flags": flags, "count": len(data), "data": data} | basis_fields(basis)
    )


async def latest_ticks(
    terminal: TerminalPort, symbol: str, to: int, count: int, mode: int
) -> np.ndarray:
    """The last ``count`` ticks at or before ``to`` (server seconds); see the module docstring."""
    ask = min(MAX_TICKS, max(2 * count, MIN_ASK))
    to_ms = to * 1000

    async def window(back_s: int) -> tuple[np.ndarray, bool]:
        """The ticks of the last ``back_s`` seconds, and whether there may be more of them."""
        call = partial(terminal.copy_ticks_from, symbol, to - back_s, ask, mode)
        rows = await symbol_call(terminal, symbol, call)
        inside = rows[rows["time_msc"] <= to_ms]
        return inside, len(inside) == ask

    fewer, back = 0, FIRST_WINDOW_S  # the window of `fewer` seconds holds < count ticks
    while True:
        rows, full = await window(back)
        if full:
            break
        if len(rows) >= count or back >= MAX_WINDOW_S:
            return rows[-count:]
        fewer, back = back, min(4 * back, MAX_WINDOW_S)
    more = back  # holds more than `ask` ticks: narrow down between the two
    while more - fewer > 1:
        middle = (fewer + more) // 2
        rows, full = await window(middle)
        if full:
            more = middle
        elif len(rows) >= count:
            return rows[-count:]
        else:
            fewer = middle
    return rows[-count:]  # over `ask` ticks within one second: the newest this can reach
