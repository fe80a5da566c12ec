"""Recorded price paths: ticks or bars from a CSV file, replayed exactly instead of the seeded
model (``SymbolSpec.recording``).

Tick CSV (as ``copy_ticks_*`` exports them): a header with ``time_msc`` or ``time`` (epoch
seconds, or ISO-8601 text), ``bid``, ``ask``; other columns are ignored. Bar CSV (as
``copy_rates_*`` exports them): ``time``, ``open``, ``high``, ``low``, ``close`` and optionally
``spread`` (points). Times are in the broker server's clock (what MT5 exports), unless the
scenario says ``"time_zone": "utc"``.

A bar becomes four ticks inside its period: open at its start, then the low and the high (high
first on a falling bar), then the close at three quarters, so bars of the recorded timeframe
(and of every multiple of it) have exactly the recorded open, high, low and close; their
``tick_volume`` counts those ticks. Every recorded tick is kept, even one that changes
nothing (its flags then say bid and ask). Before the first recorded tick a symbol has no
price; after the last one its last price stays (for up to a month), with no new ticks.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from simulator.price_paths import DAY_MS, RawDay


@dataclass(frozen=True)
class Recording:
    """Recorded ticks in server time: ``time_msc`` ascending, ``bid``, ``ask`` (and ``spread``
    in points when the recording gives it instead of an ask)."""

    time_msc: np.ndarray
    bid: np.ndarray
    ask: np.ndarray

    @property
    def first_bid(self) -> float:
        return float(self.bid[0])

    def raw_day(self, day: int, point: float) -> RawDay:
        """The recorded ticks of server day ``day`` as a generated day (log bid, spread)."""
        lo, hi = np.searchsorted(self.time_msc, [day * DAY_MS, (day + 1) * DAY_MS])
        if lo == hi:
            return RawDay.empty()
        bid, ask = self.bid[lo:hi], self.ask[lo:hi]
        spread = np.rint((ask - bid) / point).astype(np.int32)
        n = hi - lo
        return RawDay(self.time_msc[lo:hi], np.log(bid), spread, np.zeros(n, np.int8),
                      np.zeros(0, np.uint64), recorded=True)  # fmt: skip


def parse_time(text: str) -> int:
    """Epoch milliseconds from epoch seconds (int or float text) or ISO-8601 text; a naive
    ISO time is read as given (the clock of the recording), never as local time."""
    try:
        return round(float(text) * 1000)
    except ValueError:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            return round(moment.timestamp() * 1000)
        return round((moment - datetime(1970, 1, 1)).total_seconds() * 1000)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def _number(row: dict[str, str], key: str, path: Path, line: int) -> float:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path}:{line}: column {key!r} missing or not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}:{line}: {key} is not finite")
    return value


def _time(row: dict[str, str], path: Path, line: int) -> int:
    if row.get("time_msc"):
        return int(_number(row, "time_msc", path, line))
    if row.get("time"):
        return parse_time(row["time"])
    raise ValueError(f"{path}:{line}: no time_msc or time column")


def load_ticks(path: Path, shift_ms: int = 0) -> Recording:
    """Ticks from a CSV file, shifted by ``shift_ms`` (UTC to server time)."""
    times, bids, asks = [], [], []
    for line, row in enumerate(_rows(path), start=2):
        times.append(_time(row, path, line) + shift_ms)
        bids.append(_number(row, "bid", path, line))
        asks.append(_number(row, "ask", path, line))
    return _recording(path, times, bids, asks)


def load_bars(path: Path, minutes: int, point: float, default_spread: int,
              shift_ms: int = 0) -> Recording:  # fmt: skip
    """Four ticks per bar of ``minutes`` from a CSV file (see the module docstring)."""
    times, bids, asks = [], [], []
    length = minutes * 60_000
    for line, row in enumerate(_rows(path), start=2):
        start = _time(row, path, line) + shift_ms
        o, h, lo, c = (_number(row, key, path, line) for key in ("open", "high", "low", "close"))
        if not lo <= min(o, c) <= max(o, c) <= h:
            raise ValueError(f"{path}:{line}: open/close outside low..high")
        spread = int(float(row["spread"])) if row.get("spread") else 0
        spread = spread or default_spread
        middle = (lo, h) if c >= o else (h, lo)
        for share, price in zip((0, 1, 2, 3), (o, *middle, c), strict=True):
            times.append(start + length * share // 4)
            bids.append(price)
            asks.append(round(price + spread * point, 10))
    return _recording(path, times, bids, asks)


def _recording(path: Path, times: list[int], bids: list[float], asks: list[float]) -> Recording:
    time_msc = np.array(times, np.int64)
    bid, ask = np.array(bids), np.array(asks)
    if np.any(np.diff(time_msc) < 0):
        raise ValueError(f"{path}: times must be in ascending order")
    if np.any(bid <= 0) or np.any(ask < bid):
        raise ValueError(f"{path}: every bid must be > 0 and every ask >= bid")
    return Recording(time_msc, bid, ask)
