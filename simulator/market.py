"""Simulated prices of one broker server's symbols: ticks, bars, pushes and day statistics.

The prices come from the deterministic model in ``simulator/price_paths.py`` (one path per
symbol and day), turned into ticks by ``simulator/quotes.py`` and into bars by
``simulator/bars.py``. The only state is ``push_price``: a pushed tick at now, and a price ratio
that scales every later generated tick so the path continues from the pushed level.

Only ticks at or before now are visible, so the newest bar is "forming". Days are generated
lazily and cached in byte-bounded LRUs; the forming day is always rebuilt from its visible
ticks.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np

from simulator import constants as c
from simulator.bars import (
    EMPTY_RATES,
    bars_of_minutes,
    m1_from_quotes,
    period_end,
    period_start,
    regroup,
    tf_minutes,
)
from simulator.price_paths import (
    DAY_MS,
    DAY_S,
    ORIGIN_DAY,
    ORIGIN_S,
    RawDay,
    SymbolPath,
    cross_day,
    raw_day,
    weekday,
)
from simulator.quotes import EMPTY_TICKS, NO_QUOTES, Quotes, build_quotes, flag_filter
from simulator.specs import SymbolSpec, WeekSchedule

MAX_BARS = 100_000  # largest single bar request
MAX_TICKS = 1_000_000  # largest single tick request
MAX_GAP_DAYS = 31  # how far back tick()/day_stats look for the last quoting day


def in_schedule(schedule: WeekSchedule, server_s: int) -> bool:
    """Whether the server-time instant ``server_s`` falls inside a weekly schedule window."""
    minute = (server_s % DAY_S) // 60
    return any(start <= minute < end for start, end in schedule[weekday(server_s // DAY_S)])


class ByteLRU:
    """A byte-bounded least-recently-used cache."""

    def __init__(self, max_bytes: int) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes, self._max = 0, max_bytes

    def get(self, key: Hashable) -> Any:
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        return hit[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        old = self._items.pop(key, None)
        self._bytes -= 0 if old is None else old[1]
        self._items[key] = (value, nbytes)
        self._bytes += nbytes
        while self._bytes > self._max and len(self._items) > 1:
            self._bytes -= self._items.popitem(last=False)[1][1]

    def drop(self, doomed: Callable[[Any], bool]) -> None:
        for key in [k for k in self._items if doomed(k)]:
            self._bytes -= self._items.pop(key)[1]


class Market:
    """Prices of one broker server's symbols. Public methods are thread-safe."""

    history_start_s = ORIGIN_S

    def __init__(self, seed: int, symbols: Iterable[SymbolSpec], clock: Any, utc_offset_s: int,
                 *, cache_mb: int = 512) -> None:  # fmt: skip
        self.seed, self.clock, self.utc_offset_s = int(seed), clock, int(utc_offset_s)
        self._symbols: dict[str, SymbolPath] = {}
        self._lock = threading.RLock()
        self._raw = ByteLRU(cache_mb << 18)  # a quarter each for raw paths and final ticks,
        self._ticks = ByteLRU(cache_mb << 18)
        self._bars = ByteLRU(cache_mb << 19)  # half for bars
        self._stats: dict[str, tuple[tuple[int, int], dict[str, float]]] = {}  # latest per symbol
        self.add_symbols(symbols)

    def add_symbols(self, specs: Iterable[SymbolSpec]) -> None:
        """Register symbols (cheap: nothing is generated until asked for)."""
        with self._lock:
            for spec in specs:
                self._symbols[spec.name] = SymbolPath.of(spec)
                self._forget(spec.name, 0)

    def now_ms(self) -> int:
        """Server time now, in epoch milliseconds."""
        return int(self.clock.now_ms()) + self.utc_offset_s * 1000

    # ------------------------------------------------------------ ticks
    def tick(self, symbol: str) -> np.void:
        """The latest tick at or before now (all zeros if none exists yet)."""
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            quotes = self._latest_day(sym, now)[1]
            return quotes.cut(len(quotes.time_msc) - 1, len(quotes.time_msc)).pack()[0]

    def ticks_range(self, symbol: str, from_ms: int, to_ms: int,
                    flags: int = c.COPY_TICKS_ALL) -> np.ndarray:  # fmt: skip
        """Ticks with from_ms <= time_msc <= to_ms (and <= now), ascending."""
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            hi, parts, total = min(to_ms, now), [], 0
            for day in range(max(from_ms // DAY_MS, ORIGIN_DAY), hi // DAY_MS + 1):
                part = flag_filter(self._day_quotes(sym, day).between(from_ms, hi).pack(), flags)
                parts.append(part)
                total += len(part)
                if total > MAX_TICKS:
                    raise ValueError(f"more than {MAX_TICKS} ticks requested")
            return np.concatenate([EMPTY_TICKS, *parts])

    def ticks_from(self, symbol: str, from_ms: int, count: int,
                   flags: int = c.COPY_TICKS_ALL) -> np.ndarray:  # fmt: skip
        """The first ``count`` ticks with time_msc >= from_ms (and <= now), ascending."""
        _check_count(count, MAX_TICKS)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            parts, total = [], 0
            day = max(from_ms // DAY_MS, ORIGIN_DAY)
            while total < count and day <= now // DAY_MS:
                part = flag_filter(self._day_quotes(sym, day).between(from_ms, now).pack(), flags)
                parts.append(part)
                total += len(part)
                day += 1
            return np.concatenate([EMPTY_TICKS, *parts])[:count]

    # ------------------------------------------------------------ bars
    def rates_range(self, symbol: str, timeframe: int, from_s: int, to_s: int) -> np.ndarray:
        """Bars with from_s <= open time <= to_s, ascending (only visible ticks count)."""
        minutes = tf_minutes(timeframe)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            hi, parts, total = min(to_s, now // 1000), [], 0
            start = period_start(timeframe, max(from_s, ORIGIN_S))
            while start <= hi:
                bars = self._period_bars(sym, timeframe, minutes, start, now)
                part = bars[(bars["time"] >= from_s) & (bars["time"] <= to_s)]
                parts.append(part)
                total += len(part)
                if total > MAX_BARS:
                    raise ValueError(f"more than {MAX_BARS} bars requested")
                start = period_end(timeframe, start)
            return np.concatenate([EMPTY_RATES, *parts])

    def rates_from(self, symbol: str, timeframe: int, date_s: int, count: int) -> np.ndarray:
        """The ``count`` newest bars with open time <= date_s, ascending."""
        _check_count(count, MAX_BARS)
        minutes = tf_minutes(timeframe)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            return self._newest_bars(sym, timeframe, minutes, min(date_s, now // 1000), count, now)

    def rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> np.ndarray:
        """``count`` bars ending ``start_pos`` bars back from the forming bar (0), ascending."""
        _check_count(count, MAX_BARS)
        _check_count(start_pos, MAX_BARS - count)
        minutes = tf_minutes(timeframe)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            bars = self._newest_bars(sym, timeframe, minutes, now // 1000, start_pos + count, now)
            return bars[: max(0, len(bars) - start_pos)]

    # ------------------------------------------------------------ pushes and statistics
    def push_price(self, symbol: str, bid: float, ask: float | None = None) -> np.void:
        """Insert a tick at now; later generated prices continue from this bid level."""
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            spec = sym.spec
            bid = round(float(bid), spec.digits)
            ask = round(bid + spec.spread * spec.point if ask is None else float(ask), spec.digits)
            if not (math.isfinite(bid) and math.isfinite(ask) and 0 < bid <= ask):
                raise ValueError(f"invalid pushed price bid={bid} ask={ask}")
            gap = float(sym.gap_level(np.array([now]))[0])
            ratio = bid / (self._raw_price_at(sym, now) * gap)
            at = bisect.bisect_right([p[0] for p in sym.pushes], now)
            sym.pushes.insert(at, (now, bid, ask))
            sym.push_ratios = np.insert(sym.push_ratios, at, ratio)
            sym.push_times = np.array([p[0] for p in sym.pushes], np.int64)
            self._forget(symbol, now // DAY_MS)
            return self.tick(symbol)

    def day_stats(self, symbol: str) -> dict[str, float]:
        """Statistics of the latest server day with visible ticks (today while quoting)."""
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            day, q = self._latest_day(sym, now)
            if not len(q.bid):
                return dict.fromkeys(_STAT_KEYS, 0.0) | {"volume": 0}
            seen = (day, len(q.bid))  # the figures change only when another tick is visible
            kept = self._stats.get(symbol)
            if kept is not None and kept[0] == seen:
                return dict(kept[1])
            before = self._latest_day(sym, day * DAY_MS - 1)[1].bid
            close = float(before[-1]) if len(before) else float(q.bid[0])
            last_bid = float(q.bid[-1])
            trades = q.last[(q.flags & c.TICK_FLAG_LAST) != 0] if q.last is not None else q.bid[:0]
            stats = {
                "bidhigh": float(q.bid.max()), "bidlow": float(q.bid.min()),
                "askhigh": float(q.ask.max()), "asklow": float(q.ask.min()),
                "session_open": float(q.bid[0]), "session_close": close,
                "price_change": round((last_bid - close) / close * 100, 4) if close else 0.0,
                "volume": len(q.bid),
                "lasthigh": float(trades.max()) if len(trades) else 0.0,
                "lastlow": float(trades.min()) if len(trades) else 0.0,
                "last": float(trades[-1]) if len(trades) else 0.0,
            }  # fmt: skip
            self._stats[symbol] = (seen, stats)
            return dict(stats)

    # ------------------------------------------------------------ internals
    def _sym(self, symbol: str) -> SymbolPath:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise KeyError(symbol) from None

    def _forget(self, name: str, from_day: int) -> None:
        """Drop cached final ticks and bars of ``name`` from ``from_day`` on (raw paths stay)."""
        self._stats.pop(name, None)
        self._ticks.drop(lambda k: k[0] == name and k[1] >= from_day)
        self._bars.drop(lambda k: k[0] == name and k[1] >= from_day)

    def _legs(self, sym: SymbolPath) -> list[tuple[SymbolPath, int]]:
        """The symbols a cross is quoted from (none unless every leg is on this server)."""
        legs = [(self._symbols.get(name), sign) for name, sign in sym.spec.legs]
        if any(leg is None for leg, _ in legs):
            return []
        return legs  # type: ignore[return-value]

    def _anchor(self, sym: SymbolPath, day: int) -> float:
        legs = self._legs(sym)
        if legs:
            return sum(sign * self._anchor(leg, day) for leg, sign in legs)
        return sym.anchor(self.seed, day)

    def _raw_day(self, sym: SymbolPath, day: int) -> RawDay:
        key = (sym.spec.name, day)
        raw = self._raw.get(key)
        if raw is None:
            raw = raw_day(sym, self.seed, day, self._anchor(sym, day), self._anchor(sym, day + 1))
            legs = self._legs(sym)
            if legs:
                parts = [
                    (sign, self._raw_day(leg, day), self._anchor(leg, day)) for leg, sign in legs
                ]
                raw = cross_day(raw, parts)
            self._raw.put(key, raw, raw.nbytes)
        return raw

    def _day_quotes(self, sym: SymbolPath, day: int) -> Quotes:
        """All ticks of a server day (future ones included: callers cut at now). Cached."""
        key = (sym.spec.name, day)
        quotes = self._ticks.get(key)
        if quotes is None:
            quotes = build_quotes(self._raw_day(sym, day), sym, sym.pushed_in(day))
            self._ticks.put(key, quotes, quotes.nbytes)
        return quotes

    def _visible(self, sym: SymbolPath, day: int, now: int) -> Quotes:
        quotes = self._day_quotes(sym, day)
        return quotes.cut(0, int(np.searchsorted(quotes.time_msc, now, side="right")))

    def _latest_day(self, sym: SymbolPath, now: int) -> tuple[int, Quotes]:
        """The latest day (at most MAX_GAP_DAYS back) with ticks at or before now."""
        day = now // DAY_MS
        for back in range(MAX_GAP_DAYS + 1):
            if day - back < ORIGIN_DAY:
                break
            quotes = self._visible(sym, day - back, now)
            if len(quotes.time_msc):
                return day - back, quotes
        return day, NO_QUOTES

    def _raw_price_at(self, sym: SymbolPath, now: int) -> float:
        """Unscaled model price of the latest generated tick at or before now."""
        day = now // DAY_MS
        for back in range(MAX_GAP_DAYS + 1):
            if day - back < ORIGIN_DAY:
                break
            raw = self._raw_day(sym, day - back)
            n = np.searchsorted(raw.time_msc, now, side="right")
            if n:
                return math.exp(raw.logp[n - 1])
        return math.exp(self._anchor(sym, max(day, ORIGIN_DAY)))

    def _day_bars(self, sym: SymbolPath, minutes: int, day: int, now: int) -> np.ndarray:
        """Bars of one server day; complete days are cached, the forming day is rebuilt."""
        if day < ORIGIN_DAY or day * DAY_MS > now:
            return EMPTY_RATES
        if (day + 1) * DAY_MS > now:
            m1 = m1_from_quotes(self._visible(sym, day, now))
            return bars_of_minutes(m1, minutes)
        key = (sym.spec.name, day, minutes)
        bars = self._bars.get(key)
        if bars is None:
            if minutes == 1:
                bars = m1_from_quotes(self._day_quotes(sym, day))
            else:
                bars = bars_of_minutes(self._day_bars(sym, 1, day, now), minutes)
            self._bars.put(key, bars, bars.nbytes)
        return bars

    def _period_bars(
        self, sym: SymbolPath, tf: int, minutes: int | None, start: int, now: int
    ) -> Any:
        """Bars of the cache period starting at ``start`` (a day; a whole week or month)."""
        if minutes is not None:
            return self._day_bars(sym, minutes, start // DAY_S, now)
        days = range(start // DAY_S, period_end(tf, start) // DAY_S)
        d1 = np.concatenate([EMPTY_RATES, *(self._day_bars(sym, 1440, d, now) for d in days)])
        return regroup(d1, np.full(len(d1), start, np.int64))

    def _newest_bars(self, sym: SymbolPath, tf: int, minutes: int | None, date_s: int, count: int,
                     now: int) -> np.ndarray:  # fmt: skip
        """The ``count`` newest bars with open time <= date_s, walking periods backwards."""
        parts, total, start = [], 0, period_start(tf, date_s)
        while total < count:
            bars = self._period_bars(sym, tf, minutes, start, now)
            if len(bars) and bars["time"][-1] > date_s:
                bars = bars[bars["time"] <= date_s]
            parts.append(bars)
            total += len(parts[-1])
            if start <= ORIGIN_S:
                break
            start = period_start(tf, start - 1)
        bars = np.concatenate([EMPTY_RATES, *reversed(parts)])
        return bars[max(0, len(bars) - count) :]


_STAT_KEYS = ("bidhigh", "bidlow", "askhigh", "asklow", "session_open", "session_close",
              "price_change", "lasthigh", "lastlow", "last")  # fmt: skip


def _check_count(count: int, limit: int) -> None:
    if not 0 <= count <= limit:
        raise ValueError(f"count must be within 0..{limit}, got {count}")
