"""The price model: a deterministic random path of log-prices for every symbol, day by day.

In server time (the broker's wall clock written as epoch numbers):

* History starts at ``ORIGIN_S`` (2020-01-01 00:00). Each symbol has one *anchor* log-price per
  server day: a mean-reverting random walk from ``log(base_price)``. A day's variance is
  ``volatility**2`` times the share of the year's quoting minutes that fall on that weekday,
  so closed days (a forex weekend) do not move.
* The walk is pulled towards ``log(base_price)``; a symbol with a ``price_today`` is pulled,
  harder, towards a line that rises (or falls) from ``base_price`` in 2020 to ``price_today`` on
  ``TODAY_S`` (2026-11-01) and stays level after it, so demo prices look like today's markets
  while history still starts at 2020 levels.
* A cross with ``legs`` (EURJPY from EURUSD and USDJPY) keeps its own tick times and spreads,
  but each tick's log-price is the signed sum of its legs' latest log-prices, so cross rates
  agree with the majors. Pushed prices move only the symbol they are pushed to.
* Inside a day, quote ticks arrive as a Poisson process (mean ``ticks_per_minute``) on the
  day's *open* time only (``quote_sessions``), and the log-price follows a Brownian bridge from
  the day's anchor to the next day's. The spread varies around ``spread`` points (never below
  1). ``SYMBOL_CHART_MODE_LAST`` symbols also trade: some ticks are buy or sell trades.
* Every random draw comes from a generator seeded by (world seed, crc32(symbol), day), so the
  path is a pure function of (seed, symbol, time), whatever the order of queries or "now".

``simulator/quotes.py`` turns a day's path into ticks (rounding, pushes, flags).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from simulator import constants as c
from simulator.specs import SymbolSpec, WeekSchedule

ORIGIN_S = 1_577_836_800  # 2020-01-01 00:00 server time: the first generated day
DAY_S = 86_400
DAY_MS = DAY_S * 1000
ORIGIN_DAY = ORIGIN_S // DAY_S

_ANCHOR_BLOCK = 512  # anchors are drawn in blocks of this many days
TODAY_S = 1_793_491_200  # 2026-11-01 00:00 server time: where price_today applies
TODAY_DAY = TODAY_S // DAY_S

_REVERSION = 1 / 750  # daily pull of the anchor walk back towards log(base_price)
_TRACKING = 1 / 30  # daily pull towards the trend line of a symbol with a price_today
_TRADE_SHARE = 0.3  # share of ticks that are trades on chart_mode LAST symbols
_SALT_ANCHOR, _SALT_DAY = 1, 2


def weekday(epoch_day: int) -> int:
    """0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)."""
    return (epoch_day + 3) % 7


@dataclass(frozen=True)
class RawDay:
    """One day's generated path before pushes and rounding."""

    time_msc: np.ndarray  # int64, ascending
    logp: np.ndarray  # float64 log bid
    spread: np.ndarray  # int32 points
    side: np.ndarray  # int8: 0 quote only, 1 buy trade, 2 sell trade
    volume: np.ndarray  # uint64 trade volume (0 on quote ticks; empty unless chart_mode LAST)
    recorded: bool = False  # a recording's ticks: each one is kept, even when nothing changed

    @property
    def nbytes(self) -> int:
        arrays = (self.time_msc, self.logp, self.spread, self.side, self.volume)
        return sum(a.nbytes for a in arrays)

    @classmethod
    def empty(cls) -> RawDay:
        z = np.zeros(0)
        return cls(z.astype(np.int64), z, z.astype(np.int32), z.astype(np.int8), z.astype("u8"))


def seeded_rng(seed: int, key: int, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, key, *parts])


def open_minutes(schedule: WeekSchedule) -> list[int]:
    return [sum(end - start for start, end in day) for day in schedule]


def day_sigmas(spec: SymbolSpec) -> tuple[float, ...]:
    """Standard deviation of a day's log-price move, by weekday."""
    minutes = open_minutes(spec.quote_sessions)
    yearly = sum(minutes) * 365 / 7
    return tuple(spec.volatility * math.sqrt(m / yearly) if yearly else 0.0 for m in minutes)


def anchor_block(sym: SymbolPath, seed: int, block: int, prev: float) -> np.ndarray:
    """Anchors of days block*B+1 .. block*B+B (relative to ORIGIN_DAY), continuing from prev."""
    days = ORIGIN_DAY + block * _ANCHOR_BLOCK + np.arange(_ANCHOR_BLOCK)
    sig = np.asarray(sym.sigmas)[(days + 3) % 7]
    shocks = seeded_rng(seed, sym.key, _SALT_ANCHOR, block).standard_normal(_ANCHOR_BLOCK) * sig
    means = trend(sym.spec, block * _ANCHOR_BLOCK + 1 + np.arange(_ANCHOR_BLOCK)).tolist()
    pull = _TRACKING if sym.spec.price_today else _REVERSION
    out, x = np.empty(_ANCHOR_BLOCK), prev
    for i, shock in enumerate(shocks.tolist()):
        x += pull * (means[i] - x) + shock
        out[i] = x
    return out


def trend(spec: SymbolSpec, index: np.ndarray) -> np.ndarray:
    """The log-price the anchors are pulled towards on days ``ORIGIN_DAY + index``: constant
    ``log(base_price)``, or a straight line (in log) from it to ``log(price_today)`` on
    ``TODAY_S`` and flat after that; for a scenario symbol with ``trend_day``, the line through
    ``log(price_today)`` on that day with slope ``drift`` per year."""
    if spec.trend_day:
        years = (ORIGIN_DAY + index - spec.trend_day) / 365.25
        return math.log(spec.price_today) + spec.drift * years
    start = math.log(spec.base_price)
    if not spec.price_today:
        return np.full(len(index), start)
    share = np.clip(index / (TODAY_DAY - ORIGIN_DAY), 0.0, 1.0)
    return start + share * (math.log(spec.price_today) - start)


def open_to_clock(tau: np.ndarray, windows: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Map ms of open time (counted across the day's session windows) to ms since midnight."""
    if len(windows) == 1:
        return tau + windows[0][0] * 60_000
    lengths = np.array([(end - start) * 60_000 for start, end in windows], np.int64)
    ends = np.cumsum(lengths)
    k = np.searchsorted(ends, tau, side="right")
    starts = np.array([start * 60_000 for start, _ in windows], np.int64)
    return starts[k] + tau - (ends - lengths)[k]


def raw_day(sym: SymbolPath, seed: int, day: int, a0: float, a1: float) -> RawDay:
    """Generate the quote (and trade) ticks of server day ``day`` (epoch day number); a
    recorded symbol's ticks come from its recording."""
    spec = sym.spec
    if spec.recording is not None:
        return spec.recording.raw_day(day, spec.point)
    windows = spec.quote_sessions[weekday(day)]
    total = sum(end - start for start, end in windows) * 60_000
    if total == 0 or spec.ticks_per_minute <= 0:
        return RawDay.empty()
    rng = seeded_rng(seed, sym.key, _SALT_DAY, day)
    gap = 60_000 / spec.ticks_per_minute
    tau = np.cumsum(rng.exponential(gap, int(total / gap * 1.1) + 32))
    while tau[-1] < total:
        tau = np.r_[tau, tau[-1] + np.cumsum(rng.exponential(gap, len(tau) // 4 + 32))]
    tau = tau[: np.searchsorted(tau, total)].astype(np.int64)  # ms of open time, ascending
    time_msc = open_to_clock(tau, windows) + day * DAY_MS
    n = len(tau)
    # A Brownian bridge in tick time: n + 1 equal-variance steps from anchor a0 to anchor a1.
    steps = rng.random(n + 1) - 0.5
    walk = np.cumsum(steps) * (sym.sigmas[weekday(day)] * math.sqrt(12 / (n + 1)))
    frac = np.arange(1, n + 1) / (n + 1)
    logp = a0 + frac * (a1 - a0 - walk[-1]) + walk[:-1]
    jitter = rng.integers(-2, 3, n, dtype=np.int8).astype(np.int32) * max(1, spec.spread // 8)
    spread = np.maximum(1, spec.spread + jitter)  # int32 points around the typical spread
    if spec.chart_mode != c.SYMBOL_CHART_MODE_LAST:
        return RawDay(time_msc, logp, spread, np.zeros(n, np.int8), np.zeros(0, np.uint64))
    side = np.where(rng.random(n) < _TRADE_SHARE, 1 + (rng.random(n) < 0.5), 0).astype(np.int8)
    side[:1] = np.maximum(side[:1], 1)  # open every day with a trade so `last` is defined
    volume = np.where(side > 0, rng.integers(1, 11, n), 0).astype(np.uint64)
    return RawDay(time_msc, logp, spread, side, volume)


def cross_day(own: RawDay, legs: list[tuple[int, RawDay, float]]) -> RawDay:
    """A cross's day: its own tick times, spreads and trades, with the log-price of each tick
    summed from its legs (``sign`` x the leg's latest log-price at that moment, or the leg's
    anchor before its first tick of the day), so EURJPY = EURUSD x USDJPY at every tick."""
    logp = np.zeros(len(own.time_msc))
    for sign, leg, start in legs:
        latest = np.searchsorted(leg.time_msc, own.time_msc, side="right") - 1
        values = np.r_[start, leg.logp][latest + 1]
        logp += sign * values
    return dataclasses.replace(own, logp=logp)


@dataclass
class SymbolPath:
    """A symbol's price state: its spec, seed key, lazily extended anchors and pushes."""

    spec: SymbolSpec
    key: int
    sigmas: tuple[float, ...]
    anchors: np.ndarray  # log-price anchor per day since ORIGIN_DAY
    pushes: list[tuple[int, float, float]] = field(default_factory=list)  # (time_msc, bid, ask)
    push_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    push_ratios: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gap_times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gap_levels: np.ndarray = field(default_factory=lambda: np.ones(1))  # product of gaps so far

    @classmethod
    def of(cls, spec: SymbolSpec) -> SymbolPath:
        anchors = np.array([math.log(spec.base_price)])
        key = zlib.crc32((spec.feed or spec.name).encode())
        path = cls(spec, key, day_sigmas(spec), anchors)
        if spec.gaps:
            gaps = sorted(spec.gaps)
            path.gap_times = np.array([t for t, _ in gaps], np.int64)
            path.gap_levels = np.cumprod([1.0, *(f for _, f in gaps)])
        return path

    def gap_level(self, time_msc: np.ndarray) -> np.ndarray:
        """The product of the gaps at or before each time (1.0 before the first)."""
        return self.gap_levels[np.searchsorted(self.gap_times, time_msc, side="right")]

    def anchor(self, seed: int, day: int) -> float:
        """The anchor log-price of server day ``day`` (drawn block by block as needed)."""
        index = day - ORIGIN_DAY
        while len(self.anchors) <= index:
            block = (len(self.anchors) - 1) // _ANCHOR_BLOCK
            self.anchors = np.r_[self.anchors, anchor_block(self, seed, block, self.anchors[-1])]
        return float(self.anchors[index])

    def pushed_in(self, day: int) -> list[tuple[int, float, float]]:
        return [p for p in self.pushes if day * DAY_MS <= p[0] < (day + 1) * DAY_MS]
