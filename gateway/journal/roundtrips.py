"""From MT5 deals to round-trip trades: the journal's rules, in one place.

A *trade* is one closing of (part of) a position: every deal that takes volume out of a
position (entry ``out``, ``out_by``, or the closing half of an ``inout``) makes one trade whose
stable id is ``mt5_{position}_{deal}`` (seed 001's form). Its fields:

- side, symbol, magic and comment are the position's (its first opening deal's);
- open time is when the position (or, after a netting reversal, its reversed part) opened, and
  open price the volume-weighted average of the opening deals still held;
- close time, close price, profit and swap are the closing deal's;
- commission and fee are the closing deal's plus the share of the opening deals' that the closed
  volume carries (so a position closed in three parts charges its entry commission across them,
  and the parts add up to the whole);
- the closing reason is the closing deal's (client, mobile, web, expert, sl, tp, so, …).

Netting reversals: an ``inout`` deal of volume V on an open volume Q closes Q (one trade, with
the deal's profit and Q/V of its commission and fee) and opens V - Q the other way at the deal's
price, carrying the rest of its commission and fee. Deals that are not trades (balance, credit,
bonus, charges, interest, …) are *balance operations*, kept apart so equity curves are right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway import mt5enums as e

BUY, SELL = 0, 1
IN, OUT, INOUT, OUT_BY = 0, 1, 2, 3
NOT_TRADES = {13, 14}  # buy/sell canceled: no money moved, nothing to keep
_EPS = 1e-9

Deal = dict[str, Any]


@dataclass(frozen=True)
class Trade:
    external_id: str
    position_id: int
    close_deal: int
    symbol: str
    side: str
    volume: float
    open_time: int  # server-clock epoch seconds, as the deals carry them
    close_time: int
    open_price: float
    close_price: float
    profit: float
    commission: float
    swap: float
    fee: float
    magic: int
    comment: str
    reason: str


@dataclass(frozen=True)
class BalanceOp:
    deal: int
    time: int
    kind: str
    amount: float
    comment: str


@dataclass
class _Open:
    """What is still held of a position."""

    side: int
    volume: float = 0.0
    price: float = 0.0
    time: int = 0
    commission: float = 0.0  # entry costs not yet charged to a trade
    fee: float = 0.0
    magic: int = 0
    comment: str = ""

    def add(self, volume: float, price: float, commission: float, fee: float) -> None:
        total = self.volume + volume
        self.price = (self.price * self.volume + price * volume) / total if total else price
        self.volume = total
        self.commission += commission
        self.fee += fee

    def take(self, volume: float) -> tuple[float, float, float]:
        """Remove ``volume``; return it with its share of the entry commission and fee."""
        volume = min(volume, self.volume)
        share = volume / self.volume if self.volume > _EPS else 1.0
        commission, fee = self.commission * share, self.fee * share
        self.commission -= commission
        self.fee -= fee
        self.volume -= volume
        return volume, commission, fee


@dataclass
class Result:
    trades: list[Trade] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def order_key(deal: Deal) -> tuple[int, int]:
    return int(deal.get("time_msc") or deal["time"] * 1000), int(deal["ticket"])


def balance_ops(deals: Iterable[Deal]) -> list[BalanceOp]:
    return [
        BalanceOp(
            deal=int(d["ticket"]),
            time=int(d["time"]),
            kind=e.name(e.DEAL_TYPES, d["type"]),
            amount=float(d["profit"]),
            comment=str(d["comment"]),
        )
        for d in sorted(deals, key=order_key)
        if d["type"] not in (BUY, SELL) and d["type"] not in NOT_TRADES
    ]


def _trade(
    position: int, held: _Open, deal: Deal, volume: float, costs: tuple[float, ...]
) -> Trade:
    commission, fee, deal_share = costs
    return Trade(
        external_id=f"mt5_{position}_{deal['ticket']}",
        position_id=position,
        close_deal=int(deal["ticket"]),
        symbol=str(deal["symbol"]),
        side=e.name(e.POSITION_TYPES, held.side),
        volume=round(volume, 8),
        open_time=held.time,
        close_time=int(deal["time"]),
        open_price=held.price,
        close_price=float(deal["price"]),
        profit=float(deal["profit"]),
        commission=commission + float(deal["commission"]) * deal_share,
        swap=float(deal["swap"]),
        fee=fee + float(deal["fee"]) * deal_share,
        magic=held.magic,
        comment=held.comment,
        reason=e.name(e.DEAL_REASONS, deal["reason"]),
    )


def position_trades(position: int, deals: Iterable[Deal]) -> Result:
    """The trades made by one position's deals (all of them, any order)."""
    out = Result()
    held: _Open | None = None
    for deal in sorted(deals, key=order_key):
        if deal["type"] not in (BUY, SELL):
            continue
        entry, volume = int(deal["entry"]), float(deal["volume"])
        price, commission, fee = float(deal["price"]), float(deal["commission"]), float(deal["fee"])
        if entry == IN:
            if held is None or held.volume <= _EPS:
                held = _Open(int(deal["type"]), time=int(deal["time"]), magic=int(deal["magic"]),
                             comment=str(deal["comment"]))  # fmt: skip
            held.add(volume, price, commission, fee)
            continue
        if held is None or held.volume <= _EPS:
            out.errors.append(
                {"deal": int(deal["ticket"]), "position": position,
                 "reason": "closes a position whose opening deal is not in the history"}
            )  # fmt: skip
            continue
        if entry in (OUT, OUT_BY):
            closed, c, f = held.take(volume)
            out.trades.append(_trade(position, held, deal, closed, (c, f, 1.0)))
        elif entry == INOUT:
            closed, c, f = held.take(volume)
            part = closed / volume if volume > _EPS else 1.0
            out.trades.append(_trade(position, held, deal, closed, (c, f, part)))
            rest = volume - closed
            held = _Open(int(deal["type"]), time=int(deal["time"]), magic=int(deal["magic"]),
                         comment=str(deal["comment"]))  # fmt: skip
            held.add(rest, price, commission * (1 - part), fee * (1 - part))
    return out


def closing_positions(deals: Iterable[Deal]) -> list[int]:
    """Positions that some of ``deals`` take volume out of, in the order first closed."""
    seen: dict[int, None] = {}
    for d in sorted(deals, key=order_key):
        if d["type"] in (BUY, SELL) and int(d["entry"]) != IN:
            seen.setdefault(int(d["position_id"]), None)
    return list(seen)
