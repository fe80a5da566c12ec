"""Simulated prices: a deterministic tick and bar history for every symbol of one broker server.

The model, in server time (the broker's wall clock written as epoch numbers):

* History starts at ``ORIGIN_S`` (2020-01-01 00:00). Each symbol has one *anchor* log-price per
  server day: a mean-reverting random walk from ``log(base_price)``. A day's variance is
  ``volatility**2`` times the share of the year's quoting minutes that fall on that weekday,
  so closed days (a forex weekend) do not move.
* Inside a day, quote ticks arrive as a Poisson process (mean ``ticks_per_minute``) on the
  day's *open* time only (``quote_sessions``), and the log-price follows a Brownian bridge from
  the day's anchor to the next day's. Bid is rounded to ``digits``; ask = bid + a spread that
  varies around ``spread`` points (never below 1). Ticks that change neither bid nor ask are
  dropped. ``SYMBOL_CHART_MODE_LAST`` symbols also trade: some ticks carry ``last``/``volume``.
* Every random draw comes from a generator seeded by (world seed, crc32(symbol), day), so the
  history is a pure function of (seed, symbol, time), whatever the order of queries or "now".
  The only state is ``push_price``: a pushed tick at now, and a price ratio that scales every
  later generated tick so the path continues from the pushed level.
* M1 bars aggregate ticks (open/high/low/close of bid, tick count, minimum spread, summed trade
  volume); every other timeframe aggregates M1 bars (H and D aligned to server midnight, W1 from
  Sunday 00:00, MN1 from the 1st). Only ticks at or before now are visible, so the newest bar
  is "forming". Days are generated lazily and cached in byte-bounded LRUs; the forming day is
  always rebuilt from its visible ticks.
"""

from __future__ import annotations

import bisect
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator import constants as c
from simulator.specs import SymbolSpec, WeekSchedule
from simulator.structs import RATES_DTYPE, TICKS_DTYPE

ORIGIN_S = 1_577_836_800  # 2020-01-01 00:00 server time: the first generated day
DAY_S = 86_400
DAY_MS = DAY_S * 1000
ORIGIN_DAY = ORIGIN_S // DAY_S
MAX_BARS = 100_000  # largest single bar request
MAX_TICKS = 1_000_000  # largest single tick request
MAX_GAP_DAYS = 31  # how far back tick()/day_stats look for the last quoting day

_ANCHOR_BLOCK = 512  # anchors are drawn in blocks of this many days
_REVERSION = 1 / 750  # daily pull of the anchor walk back towards log(base_price)
_TRADE_SHARE = 0.3  # share of ticks that are trades on chart_mode LAST symbols
_SALT_ANCHOR, _SALT_DAY = 1, 2
_BIDASK = c.TICK_FLAG_BID | c.TICK_FLAG_ASK
_TRADE = c.TICK_FLAG_LAST | c.TICK_FLAG_VOLUME
_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
_INTRADAY_TFS = frozenset((1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, *(0x4000 | h for h in _HOURS)))
_EMPTY_RATES = np.zeros(0, RATES_DTYPE)
_EMPTY_TICKS = np.zeros(0, TICKS_DTYPE)


def in_schedule(schedule: WeekSchedule, server_s: int) -> bool:
    """Whether the server-time instant ``server_s`` falls inside a weekly schedule window."""
    minute = (server_s % DAY_S) // 60
    return any(start <= minute < end for start, end in schedule[_weekday(server_s // DAY_S)])


def _weekday(epoch_day: int) -> int:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (epoch_day + 3) % 7


# ---------------------------------------------------------------- time frames and periods
def _tf_minutes(timeframe: int) -> int | None:
    """Bar length in minutes for timeframes up to D1, None for W1/MN1; ValueError otherwise."""
    if timeframe in _INTRADAY_TFS:
        return timeframe if timeframe < 0x4000 else (timeframe & 0x3FFF) * 60
    if timeframe in (c.TIMEFRAME_W1, c.TIMEFRAME_MN1):
        return None
    raise ValueError(f"unknown timeframe {timeframe}")


def _period_start(timeframe: int, t: int) -> int:
    """Start of the cache period holding second ``t``: its day, week (Sunday) or month."""
    if timeframe == c.TIMEFRAME_W1:
        day = t // DAY_S
        return (day - (day + 4) % 7) * DAY_S
    if timeframe == c.TIMEFRAME_MN1:
        month = np.datetime64(t, "s").astype("datetime64[M]")
        return int(month.astype("datetime64[s]").astype(np.int64))
    return t - t % DAY_S


def _period_end(timeframe: int, start: int) -> int:
    if timeframe == c.TIMEFRAME_W1:
        return start + 7 * DAY_S
    if timeframe == c.TIMEFRAME_MN1:
        return _period_start(timeframe, start + 32 * DAY_S)
    return start + DAY_S


# ---------------------------------------------------------------- aggregation
def _aggregate(keys: np.ndarray, o: Any, h: Any, lo: Any, cl: Any, n: Any, sp: Any, v: Any) -> Any:
    """Group consecutive rows with equal (ascending) ``keys`` into RATES_DTYPE bars."""
    if len(keys) == 0:
        return _EMPTY_RATES
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


def _regroup(bars: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Aggregate bars into longer bars whose open times are ``keys``."""
    b = bars
    return _aggregate(keys, b["open"], b["high"], b["low"], b["close"], b["tick_volume"],
                      b["spread"], b["real_volume"])  # fmt: skip


def _m1_from_quotes(q: _Quotes) -> np.ndarray:
    """M1 bars of bid prices; tick_volume counts ticks, real_volume sums traded volume."""
    keys = q.time_msc // 60_000 * 60
    return _aggregate(keys, q.bid, q.bid, q.bid, q.bid, None, q.spread, q.volume)


def _bars_of_minutes(m1: np.ndarray, minutes: int) -> np.ndarray:
    return m1 if minutes == 1 else _regroup(m1, m1["time"] - m1["time"] % (minutes * 60))


def _flag_filter(ticks: np.ndarray, flags: int) -> np.ndarray:
    if flags == c.COPY_TICKS_ALL:
        return ticks
    mask = _BIDASK if flags & c.COPY_TICKS_INFO else 0
    mask |= _TRADE if flags & c.COPY_TICKS_TRADE else 0
    if mask == 0 or flags & ~3:
        raise ValueError(f"invalid COPY_TICKS flags {flags}")
    return ticks[(ticks["flags"] & mask) != 0]


# ---------------------------------------------------------------- generation
@dataclass(frozen=True)
class _Raw:
    """One day's generated path before pushes and rounding."""

    time_msc: np.ndarray  # int64, ascending
    logp: np.ndarray  # float64 log bid
    spread: np.ndarray  # int32 points
    side: np.ndarray  # int8: 0 quote only, 1 buy trade, 2 sell trade
    volume: np.ndarray  # uint64 trade volume (0 on quote ticks; empty unless chart_mode LAST)

    @property
    def nbytes(self) -> int:
        arrays = (self.time_msc, self.logp, self.spread, self.side, self.volume)
        return sum(a.nbytes for a in arrays)

    @classmethod
    def empty(cls) -> _Raw:
        z = np.zeros(0)
        return cls(z.astype(np.int64), z, z.astype(np.int32), z.astype(np.int8), z.astype("u8"))


def _rng(seed: int, key: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, key, *parts])


def _open_minutes(schedule: WeekSchedule) -> list[int]:
    return [sum(end - start for start, end in day) for day in schedule]


def _day_sigmas(spec: SymbolSpec) -> tuple[float, ...]:
    """Standard deviation of a day's log-price move, by weekday."""
    minutes = _open_minutes(spec.quote_sessions)
    yearly = sum(minutes) * 365 / 7
    return tuple(spec.volatility * math.sqrt(m / yearly) if yearly else 0.0 for m in minutes)


def _anchor_block(sym: _Sym, seed: int, block: int, prev: float) -> np.ndarray:
    """Anchors of days block*B+1 .. block*B+B (relative to ORIGIN_DAY), continuing from prev."""
    days = ORIGIN_DAY + block * _ANCHOR_BLOCK + np.arange(_ANCHOR_BLOCK)
    sig = np.asarray(sym.sigmas)[(days + 3) % 7]
    shocks = _rng(seed, sym.key, _SALT_ANCHOR, block).standard_normal(_ANCHOR_BLOCK) * sig
    mean, out, x = math.log(sym.spec.base_price), np.empty(_ANCHOR_BLOCK), prev
    for i, shock in enumerate(shocks.tolist()):
        x += _REVERSION * (mean - x) + shock
        out[i] = x
    return out


def _open_to_clock(tau: np.ndarray, windows: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Map ms of open time (counted across the day's session windows) to ms since midnight."""
    if len(windows) == 1:
        return tau + windows[0][0] * 60_000
    lengths = np.array([(end - start) * 60_000 for start, end in windows], np.int64)
    ends = np.cumsum(lengths)
    k = np.searchsorted(ends, tau, side="right")
    starts = np.array([start * 60_000 for start, _ in windows], np.int64)
    return starts[k] + tau - (ends - lengths)[k]


def _raw_day(sym: _Sym, seed: int, day: int, a0: float, a1: float) -> _Raw:
    """Generate the quote (and trade) ticks of server day ``day`` (epoch day number)."""
    spec = sym.spec
    windows = spec.quote_sessions[_weekday(day)]
    total = sum(end - start for start, end in windows) * 60_000
    if total == 0 or spec.ticks_per_minute <= 0:
        return _Raw.empty()
    rng = _rng(seed, sym.key, _SALT_DAY, day)
    gap = 60_000 / spec.ticks_per_minute
    tau = np.cumsum(rng.exponential(gap, int(total / gap * 1.1) + 32))
    while tau[-1] < total:
        tau = np.r_[tau, tau[-1] + np.cumsum(rng.exponential(gap, len(tau) // 4 + 32))]
    tau = tau[: np.searchsorted(tau, total)].astype(np.int64)  # ms of open time, ascending
    time_msc = _open_to_clock(tau, windows) + day * DAY_MS
    n = len(tau)
    # A Brownian bridge in tick time: n + 1 equal-variance steps from anchor a0 to anchor a1.
    steps = rng.random(n + 1) - 0.5
    walk = np.cumsum(steps) * (sym.sigmas[_weekday(day)] * math.sqrt(12 / (n + 1)))
    frac = np.arange(1, n + 1) / (n + 1)
    logp = a0 + frac * (a1 - a0 - walk[-1]) + walk[:-1]
    jitter = rng.integers(-2, 3, n, dtype=np.int8).astype(np.int32) * max(1, spec.spread // 8)
    spread = np.maximum(1, spec.spread + jitter)  # int32 points around the typical spread
    if spec.chart_mode != c.SYMBOL_CHART_MODE_LAST:
        return _Raw(time_msc, logp, spread, np.zeros(n, np.int8), np.zeros(0, np.uint64))
    side = np.where(rng.random(n) < _TRADE_SHARE, 1 + (rng.random(n) < 0.5), 0).astype(np.int8)
    side[:1] = np.maximum(side[:1], 1)  # open every day with a trade so `last` is defined
    volume = np.where(side > 0, rng.integers(1, 11, n), 0).astype(np.uint64)
    return _Raw(time_msc, logp, spread, side, volume)


@dataclass(frozen=True)
class _Quotes:
    """A day's final ticks as columns (cheap to slice and aggregate; packed on demand)."""

    time_msc: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    spread: np.ndarray  # int32 points
    flags: np.ndarray  # uint32 TICK_FLAG_*
    last: np.ndarray | None = None  # only for chart_mode LAST symbols
    volume: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in _QUOTE_FIELDS if getattr(self, f) is not None)

    def cut(self, lo: int, hi: int) -> _Quotes:
        parts = {f: getattr(self, f) for f in _QUOTE_FIELDS}
        return _Quotes(**{f: None if a is None else a[lo:hi] for f, a in parts.items()})

    def between(self, from_ms: int, to_ms: int) -> _Quotes:
        lo = int(np.searchsorted(self.time_msc, from_ms))
        return self.cut(lo, int(np.searchsorted(self.time_msc, to_ms, side="right")))

    def pack(self) -> np.ndarray:
        out = np.zeros(len(self.time_msc), TICKS_DTYPE)
        out["time_msc"], out["time"] = self.time_msc, self.time_msc // 1000
        out["bid"], out["ask"], out["flags"] = self.bid, self.ask, self.flags
        if self.last is not None and self.volume is not None:
            out["last"], out["volume"], out["volume_real"] = self.last, self.volume, self.volume
        return out


_QUOTE_FIELDS = ("time_msc", "bid", "ask", "spread", "flags", "last", "volume")
_NO_QUOTES = _Quotes(*(np.zeros(0, t) for t in ("<i8", "<f8", "<f8", "<i4", "<u4")))


def _build_quotes(raw: _Raw, sym: _Sym, pushed: list[tuple[int, float, float]]) -> _Quotes:
    """Apply push ratios, round, merge pushed ticks, set flags and drop no-change ticks."""
    spec, point = sym.spec, sym.spec.point
    idx = np.searchsorted(sym.push_times, raw.time_msc, side="left")  # pushes strictly before
    bid = np.exp(raw.logp)
    if len(sym.push_ratios):
        bid *= np.r_[1.0, sym.push_ratios][idx]
    bid = np.round(bid, spec.digits)
    ask = np.round(bid + raw.spread * point, spec.digits)
    exchange = spec.chart_mode == c.SYMBOL_CHART_MODE_LAST
    cols = {"time_msc": raw.time_msc, "bid": bid, "ask": ask, "spread": raw.spread,
            "side": raw.side, "push": np.zeros(len(bid), bool)}  # fmt: skip
    if exchange:
        cols["volume"] = raw.volume
    if pushed:
        cols = _merge_pushed(cols, pushed, point)
    side = cols.pop("side")
    flags = _change_flags(cols["bid"], cols["ask"], side, cols.pop("push"))
    if exchange:
        trade_price = np.where(side == 1, cols["ask"], cols["bid"])
        last_idx = np.maximum.accumulate(np.where(side > 0, np.arange(len(side)), 0))
        cols["last"] = np.where(side[last_idx] > 0, trade_price[last_idx], 0.0)
    keep = flags != 0
    if not keep.all():
        cols, flags = {k: v[keep] for k, v in cols.items()}, flags[keep]
    return _Quotes(flags=flags, **cols)


def _merge_pushed(
    cols: dict[str, Any], pushed: list[tuple[int, float, float]], point: float
) -> Any:
    """Insert pushed (time_msc, bid, ask) ticks after generated ticks of the same millisecond."""
    p = np.array(pushed, dtype=[("t", "<i8"), ("b", "<f8"), ("a", "<f8")])
    extra = {"time_msc": p["t"], "bid": p["b"], "ask": p["a"],
             "spread": np.rint((p["a"] - p["b"]) / point).astype(np.int32),
             "side": np.zeros(len(p), np.int8), "push": np.ones(len(p), bool),
             "volume": np.zeros(len(p), np.uint64)}  # fmt: skip
    order = np.argsort(np.r_[cols["time_msc"], p["t"]], kind="stable")
    return {k: np.concatenate((v, extra[k]))[order] for k, v in cols.items()}


def _change_flags(bid: np.ndarray, ask: np.ndarray, side: np.ndarray, is_push: np.ndarray) -> Any:
    flags = np.zeros(len(bid), np.uint32)
    if len(bid) == 0:
        return flags
    flags[1:] |= np.where(bid[1:] != bid[:-1], c.TICK_FLAG_BID, 0).astype(np.uint32)
    flags[1:] |= np.where(ask[1:] != ask[:-1], c.TICK_FLAG_ASK, 0).astype(np.uint32)
    flags[0] = _BIDASK
    flags[is_push & (flags == 0)] = _BIDASK
    flags[side == 1] |= _TRADE | c.TICK_FLAG_BUY
    flags[side == 2] |= _TRADE | c.TICK_FLAG_SELL
    return flags


# ---------------------------------------------------------------- state
class _LRU:
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


@dataclass
class _Sym:
    """A symbol's price state: its spec, seed key, lazily extended anchors and pushes."""

    spec: SymbolSpec
    key: int
    sigmas: tuple[float, ...]
    anchors: np.ndarray  # log-price anchor per day since ORIGIN_DAY
    pushes: list[tuple[int, float, float]] = field(default_factory=list)  # (time_msc, bid, ask)
    push_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    push_ratios: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def of(cls, spec: SymbolSpec) -> _Sym:
        anchors = np.array([math.log(spec.base_price)])
        return cls(spec, zlib.crc32(spec.name.encode()), _day_sigmas(spec), anchors)

    def pushed_in(self, day: int) -> list[tuple[int, float, float]]:
        return [p for p in self.pushes if day * DAY_MS <= p[0] < (day + 1) * DAY_MS]


# ---------------------------------------------------------------- the market
class Market:
    """Prices of one broker server's symbols. Public methods are thread-safe."""

    history_start_s = ORIGIN_S

    def __init__(self, seed: int, symbols: Iterable[SymbolSpec], clock: Any, utc_offset_s: int,
                 *, cache_mb: int = 512) -> None:  # fmt: skip
        self.seed, self.clock, self.utc_offset_s = int(seed), clock, int(utc_offset_s)
        self._symbols: dict[str, _Sym] = {}
        self._lock = threading.RLock()
        self._raw = _LRU(cache_mb << 18)  # a quarter each for raw paths and final ticks,
        self._ticks = _LRU(cache_mb << 18)
        self._bars = _LRU(cache_mb << 19)  # half for bars
        self.add_symbols(symbols)

    def add_symbols(self, specs: Iterable[SymbolSpec]) -> None:
        """Register symbols (cheap: nothing is generated until asked for)."""
        with self._lock:
            for spec in specs:
                self._symbols[spec.name] = _Sym.of(spec)
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
                part = _flag_filter(self._day_quotes(sym, day).between(from_ms, hi).pack(), flags)
                parts.append(part)
                total += len(part)
                if total > MAX_TICKS:
                    raise ValueError(f"more than {MAX_TICKS} ticks requested")
            return np.concatenate([_EMPTY_TICKS, *parts])

    def ticks_from(self, symbol: str, from_ms: int, count: int,
                   flags: int = c.COPY_TICKS_ALL) -> np.ndarray:  # fmt: skip
        """The first ``count`` ticks with time_msc >= from_ms (and <= now), ascending."""
        _check_count(count, MAX_TICKS)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            parts, total = [], 0
            day = max(from_ms // DAY_MS, ORIGIN_DAY)
            while total < count and day <= now // DAY_MS:
                part = _flag_filter(self._day_quotes(sym, day).between(from_ms, now).pack(), flags)
                parts.append(part)
                total += len(part)
                day += 1
            return np.concatenate([_EMPTY_TICKS, *parts])[:count]

    # ------------------------------------------------------------ bars
    def rates_range(self, symbol: str, timeframe: int, from_s: int, to_s: int) -> np.ndarray:
        """Bars with from_s <= open time <= to_s, ascending (only visible ticks count)."""
        minutes = _tf_minutes(timeframe)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            hi, parts, total = min(to_s, now // 1000), [], 0
            start = _period_start(timeframe, max(from_s, ORIGIN_S))
            while start <= hi:
                bars = self._period_bars(sym, timeframe, minutes, start, now)
                part = bars[(bars["time"] >= from_s) & (bars["time"] <= to_s)]
                parts.append(part)
                total += len(part)
                if total > MAX_BARS:
                    raise ValueError(f"more than {MAX_BARS} bars requested")
                start = _period_end(timeframe, start)
            return np.concatenate([_EMPTY_RATES, *parts])

    def rates_from(self, symbol: str, timeframe: int, date_s: int, count: int) -> np.ndarray:
        """The ``count`` newest bars with open time <= date_s, ascending."""
        _check_count(count, MAX_BARS)
        minutes = _tf_minutes(timeframe)
        with self._lock:
            sym, now = self._sym(symbol), self.now_ms()
            return self._newest_bars(sym, timeframe, minutes, min(date_s, now // 1000), count, now)

    def rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> np.ndarray:
        """``count`` bars ending ``start_pos`` bars back from the forming bar (0), ascending."""
        _check_count(count, MAX_BARS)
        _check_count(start_pos, MAX_BARS - count)
        minutes = _tf_minutes(timeframe)
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
            ratio = bid / self._raw_price_at(sym, now)
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
            before = self._latest_day(sym, day * DAY_MS - 1)[1].bid
            close = float(before[-1]) if len(before) else float(q.bid[0])
            last_bid = float(q.bid[-1])
            trades = q.last[(q.flags & c.TICK_FLAG_LAST) != 0] if q.last is not None else q.bid[:0]
            return {
                "bidhigh": float(q.bid.max()), "bidlow": float(q.bid.min()),
                "askhigh": float(q.ask.max()), "asklow": float(q.ask.min()),
                "session_open": float(q.bid[0]), "session_close": close,
                "price_change": round((last_bid - close) / close * 100, 4) if close else 0.0,
                "volume": len(q.bid),
                "lasthigh": float(trades.max()) if len(trades) else 0.0,
                "lastlow": float(trades.min()) if len(trades) else 0.0,
                "last": float(trades[-1]) if len(trades) else 0.0,
            }  # fmt: skip

    # ------------------------------------------------------------ internals
    def _sym(self, symbol: str) -> _Sym:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise KeyError(symbol) from None

    def _forget(self, name: str, from_day: int) -> None:
        """Drop cached final ticks and bars of ``name`` from ``from_day`` on (raw paths stay)."""
        self._ticks.drop(lambda k: k[0] == name and k[1] >= from_day)
        self._bars.drop(lambda k: k[0] == name and k[1] >= from_day)

    def _anchor(self, sym: _Sym, day: int) -> float:
        index = day - ORIGIN_DAY
        while len(sym.anchors) <= index:
            block = (len(sym.anchors) - 1) // _ANCHOR_BLOCK
            sym.anchors = np.r_[sym.anchors, _anchor_block(sym, self.seed, block, sym.anchors[-1])]
        return float(sym.anchors[index])

    def _raw_day(self, sym: _Sym, day: int) -> _Raw:
        key = (sym.spec.name, day)
        raw = self._raw.get(key)
        if raw is None:
            raw = _raw_day(sym, self.seed, day, self._anchor(sym, day), self._anchor(sym, day + 1))
            self._raw.put(key, raw, raw.nbytes)
        return raw

    def _day_quotes(self, sym: _Sym, day: int) -> _Quotes:
        """All ticks of a server day (future ones included: callers cut at now). Cached."""
        key = (sym.spec.name, day)
        quotes = self._ticks.get(key)
        if quotes is None:
            quotes = _build_quotes(self._raw_day(sym, day), sym, sym.pushed_in(day))
            self._ticks.put(key, quotes, quotes.nbytes)
        return quotes

    def _visible(self, sym: _Sym, day: int, now: int) -> _Quotes:
        quotes = self._day_quotes(sym, day)
        return quotes.cut(0, int(np.searchsorted(quotes.time_msc, now, side="right")))

    def _latest_day(self, sym: _Sym, now: int) -> tuple[int, _Quotes]:
        """The latest day (at most MAX_GAP_DAYS back) with ticks at or before now."""
        day = now // DAY_MS
        for back in range(MAX_GAP_DAYS + 1):
            if day - back < ORIGIN_DAY:
                break
            quotes = self._visible(sym, day - back, now)
            if len(quotes.time_msc):
                return day - back, quotes
        return day, _NO_QUOTES

    def _raw_price_at(self, sym: _Sym, now: int) -> float:
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

    def _day_bars(self, sym: _Sym, minutes: int, day: int, now: int) -> np.ndarray:
        """Bars of one server day; complete days are cached, the forming day is rebuilt."""
        if day < ORIGIN_DAY or day * DAY_MS > now:
            return _EMPTY_RATES
        if (day + 1) * DAY_MS > now:
            m1 = _m1_from_quotes(self._visible(sym, day, now))
            return _bars_of_minutes(m1, minutes)
        key = (sym.spec.name, day, minutes)
        bars = self._bars.get(key)
        if bars is None:
            if minutes == 1:
                bars = _m1_from_quotes(self._day_quotes(sym, day))
            else:
                bars = _bars_of_minutes(self._day_bars(sym, 1, day, now), minutes)
            self._bars.put(key, bars, bars.nbytes)
        return bars

    def _period_bars(self, sym: _Sym, tf: int, minutes: int | None, start: int, now: int) -> Any:
        """Bars of the cache period starting at ``start`` (a day; a whole week or month)."""
        if minutes is not None:
            return self._day_bars(sym, minutes, start // DAY_S, now)
        days = range(start // DAY_S, _period_end(tf, start) // DAY_S)
        d1 = np.concatenate([_EMPTY_RATES, *(self._day_bars(sym, 1440, d, now) for d in days)])
        return _regroup(d1, np.full(len(d1), start, np.int64))

    def _newest_bars(self, sym: _Sym, tf: int, minutes: int | None, date_s: int, count: int,
                     now: int) -> np.ndarray:  # fmt: skip
        """The ``count`` newest bars with open time <= date_s, walking periods backwards."""
        parts, total, start = [], 0, _period_start(tf, date_s)
        while total < count:
            bars = self._period_bars(sym, tf, minutes, start, now)
            if len(bars) and bars["time"][-1] > date_s:
                bars = bars[bars["time"] <= date_s]
            parts.append(bars)
            total += len(parts[-1])
            if start <= ORIGIN_S:
                break
            start = _period_start(tf, start - 1)
        bars = np.concatenate([_EMPTY_RATES, *reversed(parts)])
        return bars[max(0, len(bars) - count) :]


_STAT_KEYS = ("bidhigh", "bidlow", "askhigh", "asklow", "session_open", "session_close",
              "price_change", "lasthigh", "lastlow", "last")  # fmt: skip


def _check_count(count: int, limit: int) -> None:
    if not 0 <= count <= limit:
        raise ValueError(f"count must be within 0..{limit}, got {count}")
