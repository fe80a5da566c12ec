"""Bars from ticks: time frames, their cache periods and aggregation into the rates dtype.

M1 bars aggregate ticks (open/high/low/close of bid, tick count, minimum spread, summed trade
volume); every other timeframe aggregates M1 bars (H and D aligned to server midnight, W1 from
Sunday 00:00, MN1 from the 1st).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator import constants as c
from simulator.price_paths import DAY_S
from simulator.quotes import Quotes
from simulator.structs import RATES_DTYPE

_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
INTRADAY_TFS = frozenset((1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, *(0x4000 | h for h in _HOURS)))
EMPTY_RATES = np.zeros(0, RATES_DTYPE)


def tf_minutes(timeframe: int) -> int | None:
    """Bar length in minutes for timeframes up to D1, None for W1/MN1; ValueError otherwise."""
    if timeframe in INTRADAY_TFS:
        return timeframe if timeframe < 0x4000 else (timeframe & 0x3FFF) * 60
    if timeframe in (c.TIMEFRAME_W1, c.TIMEFRAME_MN1):
        return None
    raise ValueError(f"unknown timeframe {timeframe}")


def period_start(timeframe: int, t: int) -> int:
    """Start of the cache period holding second ``t``: its day, week (Sunday) or month."""
    if timeframe == c.TIMEFRAME_W1:
        day = t // DAY_S
        return (day - (day + 4) % 7) * DAY_S
    if timeframe == c.TIMEFRAME_MN1:
        month = np.datetime64(t, "s").astype("datetime64[M]")
        return int(month.astype("datetime64[s]").astype(np.int64))
    return t - t % DAY_S


def period_end(timeframe: int, start: int) -> int:
    if timeframe == c.TIMEFRAME_W1:
        return start + 7 * DAY_S
    if timeframe == c.TIMEFRAME_MN1:
        return period_start(timeframe, start + 32 * DAY_S)
    return start + DAY_S


def aggregate(keys: np.ndarray, o: Any, h: Any, lo: Any, cl: Any, n: Any, sp: Any, v: Any) -> Any:
    """Group consecutive rows with equal (ascending) ``keys`` into RATES_DTYPE bars."""
    if len(keys) == 0:
        return EMPTY_RATES
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    out = np.empty(len(starts), RATES_DTYPE)
    out["time"] = keys[starts]
    out["open"] = o[starts]
    out["high"] = np.maximum.reduceat(h, starts)
    out["low"] = np.minimum.reduceat(lo, starts)
    out["close"] = cl[np.r_[starts[1:], len(keys)] - 1]
    counts = np.diff(np.r_[starts, len(keys)]) if n is None else np.add.reduceat(n, starts)
    out["tick_volume"] = counts
    out["spread"] = np.minimum.reduceat(sp, starts)
    out["real_volume"] = 0 if v is None else np.add.reduceat(v, starts)
    return out


def regroup(bars: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Aggregate bars into longer bars whose open times are ``keys``."""
    b = bars
    return aggregate(keys, b["open"], b["high"], b["low"], b["close"], b["tick_volume"],
                      b["spread"], b["real_volume"])  # fmt: skip


def m1_from_quotes(q: Quotes) -> np.ndarray:
    """M1 bars of bid prices; tick_volume counts ticks, real_volume sums traded volume."""
    keys = q.time_msc // 60_000 * 60
    return aggregate(keys, q.bid, q.bid, q.bid, q.bid, None, q.spread, q.volume)


def bars_of_minutes(m1: np.ndarray, minutes: int) -> np.ndarray:
    return m1 if minutes == 1 else regroup(m1, m1["time"] - m1["time"] % (minutes * 60))
