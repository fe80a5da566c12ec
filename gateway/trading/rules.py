"""Checks made before anything is sent, from the symbol's spec as the terminal reports it.

Each failed check raises :class:`TradeRuleViolation` naming the rule and the allowed values
(mt5-api-facts §6.5 volume, §6.6 stops/freeze/price side, §6.1 filling, trade modes). Market
hours are not visible through the MT5 API; the terminal's 10018 answers those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gateway import mt5enums as e
from gateway.terminal.port import Record
from gateway.trading.errors import TradeRuleViolation

EPS = 1e-9
BUY_SIDE = {0, 2, 4, 6}  # buy, buy_limit, buy_stop, buy_stop_limit
LIMIT_KINDS = {2, 3}
STOP_KINDS = {4, 5}
STOP_LIMIT_KINDS = {6, 7}
FILLING_CODES = {name: code for code, name in e.ORDER_FILLINGS.items()}
ORDER_MODE_BIT = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 8, 7: 8}
EXPIRATION_BIT = {0: 1, 1: 2, 2: 4, 3: 8}


@dataclass(frozen=True)
class Spec:
    """The parts of ``symbol_info`` the checks need, plus the current quote."""

    name: str
    digits: int
    point: float
    bid: float
    ask: float
    time: int  # last quote, server time
    volume_min: float
    volume_max: float
    volume_step: float
    stops_level: int
    freeze_level: int
    trade_mode: int
    execution_mode: int
    filling_mode: int
    expiration_mode: int
    order_mode: int

    @classmethod
    def from_info(cls, info: Record) -> Spec:
        return cls(
            name=str(info["name"]),
            digits=int(info["digits"]),
            point=float(info["point"]),
            bid=float(info["bid"]),
            ask=float(info["ask"]),
            time=int(info["time"]),
            volume_min=float(info["volume_min"]),
            volume_max=float(info["volume_max"]),
            volume_step=float(info["volume_step"]),
            stops_level=int(info["trade_stops_level"]),
            freeze_level=int(info["trade_freeze_level"]),
            trade_mode=int(info["trade_mode"]),
            execution_mode=int(info["trade_exemode"]),
            filling_mode=int(info["filling_mode"]),
            expiration_mode=int(info["expiration_mode"]),
            order_mode=int(info["order_mode"]),
        )

    def price(self, value: float) -> float:
        return round(float(value), self.digits)

    def points(self, n: float) -> float:
        return float(n) * self.point


def _fail(rule: str, message: str, allowed: Any) -> TradeRuleViolation:
    return TradeRuleViolation(rule, message, allowed=allowed)


# -- volume --------------------------------------------------------------------------------


def check_volume(spec: Spec, volume: float, *, round_to_step: bool) -> tuple[float, str | None]:
    """The volume to send and a note when it was rounded (only if the caller asked)."""
    allowed = {"min": spec.volume_min, "max": spec.volume_max, "step": spec.volume_step}
    if volume < spec.volume_min - EPS:
        raise _fail("volume_min", f"volume {volume:g} is below {spec.volume_min:g}", allowed)
    if volume > spec.volume_max + EPS:
        raise _fail("volume_max", f"volume {volume:g} is above {spec.volume_max:g}", allowed)
    step = spec.volume_step or spec.volume_min or 0.01
    steps = (volume - spec.volume_min) / step
    note = None
    if abs(steps - round(steps)) > 1e-6:
        lower = round(spec.volume_min + math.floor(steps) * step, 8)
        near = [v for v in (lower, round(lower + step, 8)) if v <= spec.volume_max + EPS]
        if not round_to_step:
            raise _fail(
                "volume_step",
                f"volume {volume:g} is not a multiple of the step {step:g} above "
                f"{spec.volume_min:g}; nearest allowed: {near} (or send round_volume=true)",
                {**allowed, "nearest": near},
            )
        rounded = min(near, key=lambda v: (abs(v - volume), v))
        note = f"volume rounded from {volume:g} to {rounded:g} (step {step:g}, as asked)"
        volume = rounded
    return round(volume, 8), note


# -- trade mode and order kinds ----------------------------------------------------------------


def check_trade_mode(spec: Spec, *, buy: bool, opens: bool) -> None:
    """Symbol trade mode: disabled, close-only, long-only, short-only."""
    mode = spec.trade_mode
    name = e.name(e.SYMBOL_TRADE_MODES, mode)
    if mode == 0:
        raise _fail("trade_mode", f"trading {spec.name} is disabled", {"trade_mode": name})
    if not opens:
        return
    if mode == 3:
        raise _fail(
            "trade_mode", f"{spec.name} is close-only: opening is refused", {"trade_mode": name}
        )
    if (mode == 1 and not buy) or (mode == 2 and buy):
        side = "long" if mode == 1 else "short"
        raise _fail("trade_mode", f"{spec.name} allows {side} positions only", {"trade_mode": name})


def check_order_kind(spec: Spec, order_type: int) -> None:
    bit = ORDER_MODE_BIT[order_type]
    if spec.order_mode and not spec.order_mode & bit:
        raise _fail(
            "order_mode",
            f"{spec.name} does not accept {e.name(e.ORDER_TYPES, order_type)} orders",
            {"order_mode": e.flags(e.ORDER_MODE_FLAGS, spec.order_mode)},
        )


def check_expiration(spec: Spec, type_time: int) -> None:
    if spec.expiration_mode and not spec.expiration_mode & EXPIRATION_BIT[type_time]:
        raise _fail(
            "expiration_mode",
            f"{spec.name} does not accept expiration {e.name(e.ORDER_TIMES, type_time)}",
            {"expiration": e.flags(e.EXPIRATION_FLAGS, spec.expiration_mode)},
        )


# -- prices and stops ------------------------------------------------------------------------


def _min_distance(spec: Spec, level: int) -> float:
    return spec.points(level)


def check_stops(spec: Spec, *, buy: bool, reference: float, sl: float, tp: float) -> None:
    """SL/TP side and ``stops_level`` distance from ``reference`` (§6.6)."""
    need = _min_distance(spec, spec.stops_level)
    sign = 1 if buy else -1
    for label, level, distance in (
        ("stop_loss", sl, sign * (reference - sl)),
        ("take_profit", tp, sign * (tp - reference)),
    ):
        if not level:
            continue
        if distance <= EPS or distance < need - EPS:
            side = (
                ("below" if buy else "above")
                if label == "stop_loss"
                else ("above" if buy else "below")
            )
            bound = reference - sign * need if label == "stop_loss" else reference + sign * need
            raise _fail(
                "stops_level",
                f"{label} {level:g} must be {side} {reference:g} by at least "
                f"{spec.stops_level} points ({need:g})",
                {
                    label: f"{'<=' if side == 'below' else '>='} {spec.price(bound):g}",
                    "stops_level_points": spec.stops_level,
                },
            )


def check_pending_price(spec: Spec, order_type: int, price: float, stoplimit: float) -> None:
    """Price side of a pending order and its ``stops_level`` distance from the market."""
    need = _min_distance(spec, spec.stops_level)
    distance, side, ref = {
        2: (spec.ask - price, "below", spec.ask),
        3: (price - spec.bid, "above", spec.bid),
        4: (price - spec.ask, "above", spec.ask),
        5: (spec.bid - price, "below", spec.bid),
        6: (price - spec.ask, "above", spec.ask),
        7: (spec.bid - price, "below", spec.bid),
    }[order_type]
    if distance <= EPS or distance < need - EPS:
        bound = ref - need if side == "below" else ref + need
        raise _fail(
            "price_side",
            f"{e.name(e.ORDER_TYPES, order_type)} price {price:g} must be {side} the market "
            f"{ref:g} by at least {spec.stops_level} points",
            {
                "price": f"{'<' if side == 'below' else '>'}{'=' if need else ''} "
                f"{spec.price(bound):g}"
            },
        )
    if order_type in STOP_LIMIT_KINDS:
        ok = stoplimit > 0 and (
            stoplimit <= price + EPS if order_type == 6 else stoplimit >= price - EPS
        )
        if not ok:
            side = "at or below" if order_type == 6 else "at or above"
            raise _fail(
                "stoplimit",
                f"stoplimit {stoplimit:g} must be {side} the stop price {price:g}",
                {"stoplimit": f"{'<=' if order_type == 6 else '>='} {price:g}"},
            )


def check_freeze(spec: Spec, *, market: float, levels: list[float], what: str) -> None:
    """No change when a level lies within ``freeze_level`` of ``market`` (§6.6)."""
    if not spec.freeze_level:
        return
    need = _min_distance(spec, spec.freeze_level)
    for level in levels:
        if level and abs(level - market) < need - EPS:
            raise _fail(
                "freeze_level",
                f"{what} is frozen: {level:g} is within {spec.freeze_level} points of {market:g}",
                {"freeze_level_points": spec.freeze_level},
            )


def stop_from_points(
    spec: Spec, *, buy: bool, reference: float, points: int | None, stop: str
) -> float:
    """An SL/TP price ``points`` away from ``reference`` on the right side."""
    if not points:
        return 0.0
    sign = 1 if buy else -1
    offset = spec.points(points)
    return spec.price(reference - sign * offset if stop == "sl" else reference + sign * offset)
