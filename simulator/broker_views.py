"""How the broker's state is shown through the API: struct builders and row filters.

``select_live`` and ``select_history`` apply the package's filter rules (ticket, symbol or
position first, then group and dates); the struct builders fill the package's result types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from simulator import constants as c
from simulator.groups import match_group
from simulator.specs import SymbolSpec
from simulator.structs import SymbolInfo, Tick


def tick_struct(t: Any) -> Tick:
    """A Tick from one row of the market's tick array."""
    return Tick(
        (
            int(t["time"]),
            float(t["bid"]),
            float(t["ask"]),
            float(t["last"]),
            int(t["volume"]),
            int(t["time_msc"]),
            int(t["flags"]),
            float(t["volume_real"]),
        )
    )


def symbol_info_struct(
    spec: SymbolSpec,
    tick: Any,
    stats: dict[str, float],
    tick_value: float,
    selected: bool,
    bank: str,
) -> SymbolInfo:
    """SymbolInfo of ``spec`` with its latest tick, day statistics and tick value."""
    spread = round((tick.ask - tick.bid) / spec.point) if tick.bid else spec.spread
    return SymbolInfo(
        chart_mode=spec.chart_mode,
        select=selected,
        visible=spec.visible and selected,
        session_deals=0,
        volume=int(stats["volume"]),
        time=tick.time,
        digits=spec.digits,
        spread=spread,
        spread_float=True,
        ticks_bookdepth=10,
        trade_calc_mode=spec.trade_calc_mode,
        trade_mode=spec.trade_mode,
        trade_stops_level=spec.trade_stops_level,
        trade_freeze_level=spec.trade_freeze_level,
        trade_exemode=spec.trade_exemode,
        swap_mode=c.SYMBOL_SWAP_MODE_POINTS,
        swap_rollover3days=3,
        expiration_mode=spec.expiration_mode,
        filling_mode=spec.filling_mode,
        order_mode=spec.order_mode,
        bid=tick.bid,
        bidhigh=stats["bidhigh"],
        bidlow=stats["bidlow"],
        ask=tick.ask,
        askhigh=stats["askhigh"],
        asklow=stats["asklow"],
        last=tick.last,
        lasthigh=stats["lasthigh"],
        lastlow=stats["lastlow"],
        point=spec.point,
        trade_tick_value=tick_value,
        trade_tick_value_profit=tick_value,
        trade_tick_value_loss=tick_value,
        trade_tick_size=spec.tick_size,
        trade_contract_size=spec.trade_contract_size,
        volume_min=spec.volume_min,
        volume_max=spec.volume_max,
        volume_step=spec.volume_step,
        volume_limit=spec.volume_limit,
        swap_long=spec.swap_long,
        swap_short=spec.swap_short,
        margin_initial=spec.margin_initial,
        session_open=stats["session_open"],
        session_close=stats["session_close"],
        margin_hedged=spec.margin_hedged,
        price_change=stats["price_change"],
        category=spec.category,
        currency_base=spec.currency_base,
        currency_profit=spec.currency_profit,
        currency_margin=spec.currency_margin,
        bank=bank,
        description=spec.description,
        exchange=spec.exchange,
        name=spec.name,
        path=spec.path,
    )


def select_live(
    rows: list[Any], symbol: str | None, group: str | None, ticket: int | None
) -> list[Any]:
    """orders_get/positions_get precedence: ticket, then symbol, then group."""
    if ticket is not None:
        return [r for r in rows if r.ticket == ticket]
    if symbol is not None:
        return [r for r in rows if r.symbol == symbol]
    if group is not None:
        return [r for r in rows if match_group(r.symbol, group)]
    return rows


def _in_range(time_ms: int, date_from: int | None, date_to: int | None) -> bool:
    seconds = time_ms // 1000
    return (date_from is None or seconds >= date_from) and (date_to is None or seconds <= date_to)


Row = TypeVar("Row")


def select_history(
    rows: list[Row],
    keys: Callable[[Row], tuple[int, int, int, str]],
    date_from: int | None,
    date_to: int | None,
    group: str | None,
    ticket: int | None,
    position: int | None,
) -> list[Row]:
    """History rows by ticket, else by position, else by time range and group.

    ``keys`` gives a row's (ticket filtered on, position id, time in ms, symbol)."""
    if ticket is not None:
        return [r for r in rows if keys(r)[0] == ticket]
    if position is not None:
        return [r for r in rows if keys(r)[1] == position]
    return [
        r
        for r in rows
        if _in_range(keys(r)[2], date_from, date_to)
        and (not group or match_group(keys(r)[3], group))
    ]
