"""From two observations of an account to the events between them (pure: no I/O).

What the watcher keeps between polls is a :class:`View`: open positions and pending orders as
the terminal returned them, and watermarks of the newest deal and order tickets seen (MT5 hands
out tickets in increasing order on a server). Each poll gives an :class:`Observed`: positions,
orders, and the deals and history orders of a window that starts before the previous poll.
Deals are the backbone: a new deal is a ``deal.added`` event and, for trades, the position
event it implies (opened, partially closed, closed, SL/TP hit, stop-out). Changes that leave no
deal (SL/TP moved, a pending order placed, modified, cancelled or expired) come from comparing
positions and orders. The same code reconciles a long absence: everything since the last view
is in the window, so the events come out in the order the broker timestamped them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.events import causes
from gateway.events.schema import EventDraft, broker_cause
from gateway.history.service import deal_out
from gateway.portfolio.service import order_out, position_out
from gateway.terminal.port import Record
from gateway.terminal.servertime import TimeBasis

ENTRY_IN, ENTRY_OUT, ENTRY_INOUT, ENTRY_OUT_BY = 0, 1, 2, 3
PENDING_TYPES = range(2, 8)
FILLED, CANCELED, REJECTED, EXPIRED = 4, 2, 5, 6
WINDOW_MARGIN_S = 3600  # history is read from this long before the newest activity seen
ORDER_FIELDS = ("price_open", "price_stoplimit", "sl", "tp", "time_expiration", "type_time")
CLOSED_BY_REASON = {4: "position.sl_hit", 5: "position.tp_hit", 6: "position.stopped_out"}
RANK = {"order.placed": 0, "order.modified": 1, "deal.added": 3}  # else order 2, position 4


@dataclass
class View:
    """What the events so far describe (stored as JSON with the account's event stream)."""

    positions: dict[int, Record] = field(default_factory=dict)
    orders: dict[int, Record] = field(default_factory=dict)
    last_deal: int = 0
    last_order: int = 0
    last_activity: int = 0  # server-time seconds of the newest deal or finished order seen

    def to_json(self) -> dict[str, Any]:
        return {
            "positions": list(self.positions.values()),
            "orders": list(self.orders.values()),
            "last_deal": self.last_deal,
            "last_order": self.last_order,
            "last_activity": self.last_activity,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> View:
        return cls(
            positions={int(p["ticket"]): p for p in data.get("positions", [])},
            orders={int(o["ticket"]): o for o in data.get("orders", [])},
            last_deal=int(data.get("last_deal", 0)),
            last_order=int(data.get("last_order", 0)),
            last_activity=int(data.get("last_activity", 0)),
        )


@dataclass
class Observed:
    """One poll of an account (raw terminal records, server times)."""

    account: Record
    positions: list[Record]
    orders: list[Record]
    deals: list[Record]  # history deals of the window
    history_orders: list[Record]  # history orders of the window, plus any looked up by ticket
    now_ms: int  # the gateway's UTC clock, for changes the broker did not timestamp


def baseline(observed: Observed) -> View:
    """The first view of an account (its whole history was read): nothing before it becomes
    an event."""
    return _view(View(), observed)


def window_start(view: View | None) -> int:
    """Where the history window of the next poll starts (server time): a little before the
    newest activity seen, so whatever happened since, however long ago, is in it."""
    if view is None or not view.last_activity:
        return 0
    return max(0, view.last_activity - WINDOW_MARGIN_S)


def _view(old: View, new: Observed) -> View:
    deal_tickets = [int(x["ticket"]) for x in new.deals]
    order_tickets = [int(o["ticket"]) for o in new.orders + new.history_orders]
    times = [int(x["time"]) for x in new.deals]
    times += [int(o["time_done"]) for o in new.history_orders if o["time_done"]]
    return View(
        positions={int(p["ticket"]): p for p in new.positions},
        orders={int(o["ticket"]): o for o in new.orders},
        last_deal=max([old.last_deal, *deal_tickets]),
        last_order=max([old.last_order, *order_tickets]),
        last_activity=max([old.last_activity, *times]),
    )


def diff(old: View, new: Observed, basis: TimeBasis) -> tuple[list[EventDraft], View]:
    """The events from ``old`` to ``new``, in order, and the view they lead to."""
    d = _Differ(old, new, basis)
    drafts = d.deals() + d.positions() + d.orders()
    drafts.sort(key=_order)
    return drafts, _view(old, new)


def _order(draft: EventDraft) -> tuple[int, int, int]:
    rank = RANK.get(draft.type, 2 if draft.channel == "orders" else 4)
    return draft.time_ms, draft.tiebreak, rank


class _Differ:
    def __init__(self, old: View, new: Observed, basis: TimeBasis) -> None:
        self.old, self.new, self.basis = old, new, basis
        self.now_pos = {int(p["ticket"]): p for p in new.positions}
        self.now_ord = {int(o["ticket"]): o for o in new.orders}
        self.fresh = sorted(
            (x for x in new.deals if int(x["ticket"]) > old.last_deal),
            key=lambda x: (int(x["time_msc"]), int(x["ticket"])),
        )
        self.explained: set[int] = set()  # positions whose changes deals already told

    def ms(self, server_ms: int) -> int:
        return int(server_ms) - (self.basis.offset_s or 0) * 1000

    def position(self, ticket: int, fallback: Record | None = None) -> dict[str, Any] | None:
        row = self.now_pos.get(ticket) or fallback
        return position_out(row, self.basis).model_dump() if row is not None else None

    # -- deals and the position events they imply ------------------------------------------------

    def deals(self) -> list[EventDraft]:
        out: list[EventDraft] = []
        opened: set[int] = set()
        for i, deal in enumerate(self.fresh):
            cause, client_id = causes.of_deal(deal)
            at, ticket = self.ms(deal["time_msc"]), int(deal["ticket"])
            data = {"deal": deal_out(deal, self.basis).model_dump()}
            out.append(EventDraft("deal.added", at, data, cause, client_id, ticket))
            if int(deal["type"]) not in causes.TRADE_DEAL_TYPES:
                continue
            pid = int(deal["position_id"])
            kind = self._position_kind(deal, pid, opened, self.fresh[i + 1 :])
            opened.add(pid)
            self.explained.add(pid)
            body = {
                "ticket": pid,
                "symbol": deal["symbol"],
                "deal": ticket,
                "volume": deal["volume"],
                "price": deal["price"],
                "profit": deal["profit"],
                "position": self.position(pid, self.old.positions.get(pid)),
            }
            out.append(EventDraft(kind, at, body, cause, client_id, ticket))
        return out

    def _position_kind(self, deal: Record, pid: int, opened: set[int], later: list[Record]) -> str:
        entry = int(deal["entry"])
        if entry == ENTRY_IN:
            known = pid in self.old.positions or pid in opened
            return "position.modified" if known else "position.opened"
        if entry == ENTRY_INOUT:
            return "position.modified"
        more = any(int(x["position_id"]) == pid and int(x["entry"]) != ENTRY_IN for x in later)
        if pid in self.now_pos or more:
            return "position.partially_closed"
        return CLOSED_BY_REASON.get(int(deal["reason"]), "position.closed")

    # -- positions: SL/TP changes, and what no deal explained -----------------------------------

    def positions(self) -> list[EventDraft]:
        out: list[EventDraft] = []
        for ticket, now in self.now_pos.items():
            before = self.old.positions.get(ticket)
            at = self.ms(now["time_update_msc"])
            if before is None and ticket not in self.explained:
                cause, client_id = causes.of_record(now)
                data = {
                    "ticket": ticket,
                    "symbol": now["symbol"],
                    "position": self.position(ticket),
                }
                out.append(EventDraft("position.opened", at, data, cause, client_id, ticket))
            elif before is not None:
                changes = {k: [before[k], now[k]] for k in ("sl", "tp") if before[k] != now[k]}
                if changes:
                    data = {"ticket": ticket, "symbol": now["symbol"], "changes": changes}
                    data["position"] = self.position(ticket)
                    draft = EventDraft("position.modified", at, data, tiebreak=ticket)
                    draft.match = ("position", ticket)
                    out.append(draft)
        for ticket, before in self.old.positions.items():
            if ticket not in self.now_pos and ticket not in self.explained:
                at = self.new.now_ms
                data = {"ticket": ticket, "symbol": before["symbol"]}
                data["position"] = self.position(ticket, before)
                out.append(EventDraft("position.closed", at, data, None, None, ticket))
        return out

    # -- pending orders -------------------------------------------------------------------------

    def orders(self) -> list[EventDraft]:
        out: list[EventDraft] = []
        history = {int(o["ticket"]): o for o in self.new.history_orders}
        for ticket, now in self.now_ord.items():
            before = self.old.orders.get(ticket)
            if before is None:
                out.append(self._placed(now))
                continue
            if float(now["volume_current"]) < float(before["volume_current"]):
                out.append(
                    self._order_event("order.partially_filled", now, broker_cause("triggered"))
                )
            changes = {k: [before[k], now[k]] for k in ORDER_FIELDS if before[k] != now[k]}
            if changes:
                draft = self._order_event("order.modified", now, None)
                draft.data["changes"] = changes
                draft.match = ("order", ticket)
                out.append(draft)
        for ticket, before in self.old.orders.items():
            if ticket not in self.now_ord:
                out.append(self._finished(history.get(ticket), before))
        for ticket, row in sorted(history.items()):
            unseen = ticket > self.old.last_order and ticket not in self.now_ord
            if unseen and int(row["type"]) in PENDING_TYPES:
                out.append(self._placed(row))
                out.append(self._finished(row, row))
        return out

    def _placed(self, row: Record) -> EventDraft:
        cause, client_id = causes.of_record(row)
        draft = self._order_event("order.placed", row, cause, at=row["time_setup_msc"])
        draft.client_id = client_id
        return draft

    def _finished(self, done: Record | None, before: Record) -> EventDraft:
        """The event of an order that left the open orders, from its history record."""
        row = done or before
        state = int(done["state"]) if done is not None else None
        at = done["time_done_msc"] if done is not None and done["time_done_msc"] else None
        if state == FILLED:
            cause, client_id = causes.of_record(row)
            reason = (cause or {}).get("reason") if cause and cause["by"] == "broker" else None
            draft = self._order_event("order.filled", row, broker_cause(reason or "triggered"), at)
            draft.client_id = client_id
            return draft
        if state == EXPIRED:
            return self._order_event("order.expired", row, broker_cause("expired"), at)
        if state == REJECTED:
            return self._order_event("order.rejected", row, broker_cause("rejected"), at)
        draft = self._order_event("order.cancelled", row, None, at)
        draft.match = ("order", int(row["ticket"]))
        return draft

    def _order_event(
        self, kind: str, row: Record, cause: dict[str, Any] | None, at: int | None = None
    ) -> EventDraft:
        ticket = int(row["ticket"])
        when = self.ms(at) if at else self.new.now_ms
        data = {"ticket": ticket, "symbol": row["symbol"], "order": order_out(row, self.basis)}
        data["order"] = data["order"].model_dump()
        return EventDraft(kind, when, data, cause, None, ticket)
