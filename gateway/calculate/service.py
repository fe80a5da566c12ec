"""The calculators. Money moves per price step come from the symbol's own tick value and tick
size (``trade_tick_value_loss`` for a stop, already in the account currency), so an EUR account
trading USDJPY or a USD account trading EURGBP needs no assumption about cross rates. Margin and
profit are the terminal's own ``order_calc_margin`` and ``order_calc_profit``."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from gateway import mt5enums as e
from gateway.calculate.schemas import (
    Margin,
    MarginBody,
    PositionSize,
    PositionSizeBody,
    Profit,
    ProfitBody,
    Side,
    Swap,
    SwapBody,
)
from gateway.errors import NoData, SymbolNotFound, ValidationFailed
from gateway.terminal.errors import MT5Error
from gateway.terminal.port import Call, Record, TerminalPort

ACTIONS = {"buy": 0, "sell": 1}  # ORDER_TYPE_BUY, ORDER_TYPE_SELL
_EPS = 1e-9


class UnsupportedSwapMode(ValidationFailed):
    code = "UNSUPPORTED_SWAP_MODE"


async def _with_symbol(
    terminal: TerminalPort, symbol: str, last: Call
) -> tuple[Record, Record, Any]:
    """Account, the symbol's specification and one more call, in one round trip."""
    try:
        account, spec, answer = await terminal.batch(
            [("account_info", (), {}), ("symbol_info", (symbol,), {}), last]
        )
    except MT5Error as exc:
        if exc.function == "symbol_info":
            raise SymbolNotFound(symbol) from None
        if exc.function == "symbol_info_tick":
            raise NoData(f"No quote for {symbol}", mt5_error=(exc.code, exc.mt5_message)) from None
        raise
    return account, spec, answer


async def _market(terminal: TerminalPort, symbol: str) -> tuple[Record, Record, Record]:
    """Account, symbol specification and last tick in one round trip."""
    return await _with_symbol(terminal, symbol, ("symbol_info_tick", (symbol,), {}))


def _entry(side: Side, tick: Record, price: float | None) -> float:
    if price is not None:
        return price
    quote = float(tick["ask"] if side == "buy" else tick["bid"])
    if quote <= 0:
        raise NoData("No current price for this symbol: give price")
    return quote


def _tick_money(spec: Record, key: str = "trade_tick_value_loss") -> float:
    """Account-currency money per ``trade_tick_size`` move of 1 lot."""
    value = float(spec.get(key) or spec["trade_tick_value"])
    if value <= 0 or spec["trade_tick_size"] <= 0:
        raise NoData(f"{spec['name']} has no tick value: the terminal has no rate for it yet")
    return value


def round_down(volume: float, step: float) -> float:
    """``volume`` rounded down to a multiple of ``step``, without binary fractions showing."""
    digits = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return round(math.floor(volume / step + _EPS) * step, digits + 2)


def _money(value: float, account: Record) -> float:
    return round(value, int(account.get("currency_digits", 2)))


async def position_size(terminal: TerminalPort, body: PositionSizeBody) -> PositionSize:
    account, spec, tick = await _market(terminal, body.symbol)
    entry = _entry(body.order_type, tick, body.price)
    sign = -1 if body.order_type == "buy" else 1
    stop = body.stop_loss if body.stop_loss is not None else entry
    if body.stop_points is not None:
        stop = round(entry + sign * body.stop_points * spec["point"], int(spec["digits"]))
    if (stop - entry) * sign <= 0:
        side = "below" if body.order_type == "buy" else "above"
        raise ValidationFailed(f"the stop of a {body.order_type} must be {side} the entry {entry}")
    loss_per_lot = abs(entry - stop) / spec["trade_tick_size"] * _tick_money(spec)
    if body.risk_amount is not None:
        wanted = body.risk_amount
    else:
        assert body.risk_percent is not None  # the body's validator guarantees one of the two
        wanted = float(account[body.risk_basis]) * body.risk_percent / 100
    volume = round_down(wanted / loss_per_lot, spec["volume_step"])
    clamped: Any = None
    if volume < spec["volume_min"]:
        volume, clamped = spec["volume_min"], "volume_min"
    elif volume > spec["volume_max"]:
        volume, clamped = spec["volume_max"], "volume_max"
    margin = await terminal.order_calc_margin(ACTIONS[body.order_type], body.symbol, volume, entry)
    return PositionSize(
        symbol=body.symbol,
        order_type=body.order_type,
        volume=volume,
        risk_amount=_money(volume * loss_per_lot, account),
        risk_wanted=_money(wanted, account),
        margin=_money(margin, account),
        currency=account["currency"],
        price=entry,
        stop_loss=stop,
        loss_per_lot=_money(loss_per_lot, account),
        clamped=clamped,
    )


async def margin(terminal: TerminalPort, body: MarginBody) -> Margin:
    account, _, tick = await _market(terminal, body.symbol)
    price = _entry(body.order_type, tick, body.price)
    value = await terminal.order_calc_margin(
        ACTIONS[body.order_type], body.symbol, body.volume, price
    )
    return Margin(
        symbol=body.symbol,
        order_type=body.order_type,
        volume=body.volume,
        price=price,
        margin=_money(value, account),
        currency=account["currency"],
    )


async def profit(terminal: TerminalPort, body: ProfitBody) -> Profit:
    args = (ACTIONS[body.order_type], body.symbol, body.volume, body.price_open, body.price_close)
    account, _, value = await _with_symbol(terminal, body.symbol, ("order_calc_profit", args, {}))
    return Profit(
        symbol=body.symbol,
        order_type=body.order_type,
        volume=body.volume,
        price_open=body.price_open,
        price_close=body.price_close,
        profit=_money(value, account),
        currency=account["currency"],
    )


def _swap_per_lot(spec: Record, account: Record, rate: float, price: float) -> tuple[float, str]:
    """One ordinary rollover's swap for 1 lot, and the currency it is stated in."""
    mode = e.name(e.SWAP_MODES, spec["swap_mode"])
    per_price_unit = _tick_money(spec, "trade_tick_value") / spec["trade_tick_size"]
    if mode == "disabled":
        return 0.0, account["currency"]
    if mode == "points":
        return rate * spec["point"] * per_price_unit, account["currency"]
    if mode == "currency_deposit":
        return rate, account["currency"]
    if mode == "currency_symbol":
        return rate, spec["currency_base"]
    if mode == "currency_margin":
        return rate, spec["currency_margin"]
    if mode in ("interest_current", "interest_open"):
        return rate / 100 / 360 * price * per_price_unit, account["currency"]
    raise UnsupportedSwapMode(
        f"{spec['name']} reopens positions at rollover ({mode}): there is no charge to estimate"
    )


def _triple_nights(start_weekday: int, nights: int, triple_day: int) -> int:
    full_weeks, rest = divmod(nights, 7)
    return full_weeks + sum(1 for i in range(rest) if (start_weekday + i) % 7 == triple_day)


async def swap(terminal: TerminalPort, body: SwapBody) -> Swap:
    account, spec, tick = await _market(terminal, body.symbol)
    rate = float(spec["swap_long"] if body.order_type == "buy" else spec["swap_short"])
    price = _entry(body.order_type, tick, None)
    per_lot, currency = _swap_per_lot(spec, account, rate, price)
    per_night = per_lot * body.volume
    start = body.start_weekday
    if start is None:
        start = (dt.datetime.now(dt.UTC).weekday() + 1) % 7  # Python: Monday 0; MT5: Sunday 0
    triple = _triple_nights(start, body.nights, int(spec["swap_rollover3days"]))
    digits = int(account.get("currency_digits", 2))
    return Swap(
        symbol=body.symbol,
        order_type=body.order_type,
        volume=body.volume,
        nights=body.nights,
        swap_mode=e.name(e.SWAP_MODES, spec["swap_mode"]),
        rate=rate,
        per_night=round(per_night, digits),
        triple_nights=triple,
        total=round(per_night * (body.nights + 2 * triple), digits),
        currency=currency,
    )
