"""A synthetic depth of market for ``market_book_get``: a few levels around bid/ask."""

from __future__ import annotations

from simulator import constants as c
from simulator.broker import Broker
from simulator.structs import BookInfo

BOOK_DEPTH = 5


def synthetic_book(broker: Broker, name: str) -> tuple[BookInfo, ...]:
    """A deterministic depth of market around the current bid/ask: sells first, price
    descending, then buys (BOOK_TYPE_SELL = 1, BOOK_TYPE_BUY = 2)."""
    tick = broker.tick_info(name)
    spec = broker.symbol(name)
    assert spec is not None
    step, digits = spec.tick_size, spec.digits
    rows = []
    for level in reversed(range(BOOK_DEPTH)):
        rows.append(_book_row(c.BOOK_TYPE_SELL, round(tick.ask + level * step, digits), level))
    for level in range(BOOK_DEPTH):
        rows.append(_book_row(c.BOOK_TYPE_BUY, round(tick.bid - level * step, digits), level))
    return tuple(rows)


def _book_row(kind: int, price: float, level: int) -> BookInfo:
    volume = 10 * (level + 1) + (kind * 3 + level * 7) % 5
    return BookInfo(type=kind, price=price, volume=volume, volume_dbl=float(volume))
