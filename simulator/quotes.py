"""A day's final ticks: the price path rounded, scaled by pushes, merged with pushed ticks,
flagged (TICK_FLAG_*) and without ticks that change nothing. Kept as columns, packed into the
package's tick dtype on demand.

Bid is rounded to ``digits``; ask = bid + the path's spread. A pushed price scales every later
generated tick by the ratio of the pushed bid to the model's price at that moment, so the path
continues from the pushed level. On ``SYMBOL_CHART_MODE_LAST`` symbols trade ticks carry
``last`` (the ask for a buy, the bid for a sell) and a volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator import constants as c
from simulator.price_paths import RawDay, SymbolPath
from simulator.structs import TICKS_DTYPE

BIDASK = c.TICK_FLAG_BID | c.TICK_FLAG_ASK
TRADE = c.TICK_FLAG_LAST | c.TICK_FLAG_VOLUME
EMPTY_TICKS = np.zeros(0, TICKS_DTYPE)


@dataclass(frozen=True)
class Quotes:
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
        return sum(getattr(self, f).nbytes for f in QUOTE_FIELDS if getattr(self, f) is not None)

    def cut(self, lo: int, hi: int) -> Quotes:
        parts = {f: getattr(self, f) for f in QUOTE_FIELDS}
        return Quotes(**{f: None if a is None else a[lo:hi] for f, a in parts.items()})

    def between(self, from_ms: int, to_ms: int) -> Quotes:
        lo = int(np.searchsorted(self.time_msc, from_ms))
        return self.cut(lo, int(np.searchsorted(self.time_msc, to_ms, side="right")))

    def pack(self) -> np.ndarray:
        out = np.zeros(len(self.time_msc), TICKS_DTYPE)
        out["time_msc"], out["time"] = self.time_msc, self.time_msc // 1000
        out["bid"], out["ask"], out["flags"] = self.bid, self.ask, self.flags
        if self.last is not None and self.volume is not None:
            out["last"], out["volume"], out["volume_real"] = self.last, self.volume, self.volume
        return out


QUOTE_FIELDS = ("time_msc", "bid", "ask", "spread", "flags", "last", "volume")
NO_QUOTES = Quotes(*(np.zeros(0, t) for t in ("<i8", "<f8", "<f8", "<i4", "<u4")))


def build_quotes(raw: RawDay, sym: SymbolPath, pushed: list[tuple[int, float, float]]) -> Quotes:
    """Apply push ratios, round, merge pushed ticks, set flags and drop no-change ticks."""
    spec, point = sym.spec, sym.spec.point
    idx = np.searchsorted(sym.push_times, raw.time_msc, side="left")  # pushes strictly before
    bid = np.exp(raw.logp)
    if len(sym.gap_times):
        bid *= sym.gap_level(raw.time_msc)
    if len(sym.push_ratios):
        bid *= np.r_[1.0, sym.push_ratios][idx]
    bid = np.round(bid, spec.digits)
    ask = np.round(bid + raw.spread * point, spec.digits)
    exchange = spec.chart_mode == c.SYMBOL_CHART_MODE_LAST
    cols = {"time_msc": raw.time_msc, "bid": bid, "ask": ask, "spread": raw.spread,
            "side": raw.side, "push": np.full(len(bid), raw.recorded)}  # fmt: skip
    if exchange:
        cols["volume"] = raw.volume
    if pushed:
        cols = merge_pushed(cols, pushed, point)
    side = cols.pop("side")
    flags = change_flags(cols["bid"], cols["ask"], side, cols.pop("push"))
    if exchange:
        trade_price = np.where(side == 1, cols["ask"], cols["bid"])
        last_idx = np.maximum.accumulate(np.where(side > 0, np.arange(len(side)), 0))
        cols["last"] = np.where(side[last_idx] > 0, trade_price[last_idx], 0.0)
    keep = flags != 0
    if not keep.all():
        cols, flags = {k: v[keep] for k, v in cols.items()}, flags[keep]
    return Quotes(flags=flags, **cols)


def merge_pushed(cols: dict[str, Any], pushed: list[tuple[int, float, float]], point: float) -> Any:
    """Insert pushed (time_msc, bid, ask) ticks after generated ticks of the same millisecond."""
    p = np.array(pushed, dtype=[("t", "<i8"), ("b", "<f8"), ("a", "<f8")])
    extra = {"time_msc": p["t"], "bid": p["b"], "ask": p["a"],
             "spread": np.rint((p["a"] - p["b"]) / point).astype(np.int32),
             "side": np.zeros(len(p), np.int8), "push": np.ones(len(p), bool),
             "volume": np.zeros(len(p), np.uint64)}  # fmt: skip
    order = np.argsort(np.r_[cols["time_msc"], p["t"]], kind="stable")
    return {k: np.concatenate((v, extra[k]))[order] for k, v in cols.items()}


def change_flags(bid: np.ndarray, ask: np.ndarray, side: np.ndarray, is_push: np.ndarray) -> Any:
    flags = np.zeros(len(bid), np.uint32)
    if len(bid) == 0:
        return flags
    flags[1:] |= np.where(bid[1:] != bid[:-1], c.TICK_FLAG_BID, 0).astype(np.uint32)
    flags[1:] |= np.where(ask[1:] != ask[:-1], c.TICK_FLAG_ASK, 0).astype(np.uint32)
    flags[0] = BIDASK
    flags[is_push & (flags == 0)] = BIDASK
    flags[side == 1] |= TRADE | c.TICK_FLAG_BUY
    flags[side == 2] |= TRADE | c.TICK_FLAG_SELL
    return flags


def flag_filter(ticks: np.ndarray, flags: int) -> np.ndarray:
    if flags == c.COPY_TICKS_ALL:
        return ticks
    mask = BIDASK if flags & c.COPY_TICKS_INFO else 0
    mask |= TRADE if flags & c.COPY_TICKS_TRADE else 0
    if mask == 0 or flags & ~3:
        raise ValueError(f"invalid COPY_TICKS flags {flags}")
    return ticks[(ticks["flags"] & mask) != 0]
