"""Account events as the stream, the events API and webhooks carry them.

An event is a fact about one account with an order: ``seq`` grows by exactly 1 per event of
that account, ``id`` is unique, ``time`` is when it happened (UTC, from the broker's own
timestamps) and ``cause`` says who made it happen when that is known:

- ``{"by": "gateway", "request_id": ...}``: a request sent through this gateway;
- ``{"by": "client", "reason": "expert" | "client" | "mobile" | "web"}``: another client of
  the same account (another EA, the desktop or mobile terminal, the web terminal);
- ``{"by": "broker", "reason": "sl" | "tp" | "stop_out" | "triggered" | "expired" | ...}``:
  the trade server (SL/TP hit, stop-out, a pending order reaching its price, a deposit);
- ``None``: not known (for example a change seen only as a difference of state).

``reconciled`` marks events reconstructed after the account was away (not logged in on any
terminal) or the gateway was down: they are in order, but were not seen as they happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Channel = Literal["positions", "orders", "deals"]
EVENT_CHANNELS: tuple[Channel, ...] = ("positions", "orders", "deals")

POSITION_EVENTS = (
    "position.opened",
    "position.modified",
    "position.partially_closed",
    "position.closed",
    "position.sl_hit",
    "position.tp_hit",
    "position.stopped_out",
)
ORDER_EVENTS = (
    "order.placed",
    "order.modified",
    "order.filled",
    "order.partially_filled",
    "order.cancelled",
    "order.expired",
    "order.rejected",
)
DEAL_EVENTS = ("deal.added",)
EVENT_TYPES = POSITION_EVENTS + ORDER_EVENTS + DEAL_EVENTS

Cause = dict[str, Any]


def gateway_cause(request_id: str) -> Cause:
    return {"by": "gateway", "request_id": request_id}


def client_cause(reason: str) -> Cause:
    return {"by": "client", "reason": reason}


def broker_cause(reason: str, request_id: str | None = None) -> Cause:
    cause: Cause = {"by": "broker", "reason": reason}
    if request_id is not None:  # e.g. a pending order placed through us, filled by the broker
        cause["request_id"] = request_id
    return cause


@dataclass
class EventDraft:
    """An event before it has a number: what the differ produces."""

    type: str
    time_ms: int  # UTC epoch milliseconds of the fact, for ordering and ``time``
    data: dict[str, Any]
    cause: Cause | None = None
    client_id: str | None = None  # our client id found in a comment, resolved to a request later
    tiebreak: int = 0  # ticket, to order facts of the same millisecond
    match: tuple[str, int] | None = None  # ("position" | "order", ticket): look for our request

    @property
    def channel(self) -> Channel:
        prefix = self.type.split(".", 1)[0]
        return {"position": "positions", "order": "orders", "deal": "deals"}[prefix]  # type: ignore[return-value]


@dataclass(frozen=True)
class Event:
    """A stored event."""

    id: str
    account_id: str
    seq: int
    channel: str
    type: str
    time: datetime
    reconciled: bool
    cause: Cause | None
    data: dict[str, Any]
    _text: list[str] = field(default_factory=list, repr=False, compare=False)

    def message(self) -> dict[str, Any]:
        """The JSON object sent to clients and webhooks."""
        return {
            "type": "event",
            "channel": self.channel,
            "event": self.type,
            "account_id": self.account_id,
            "seq": self.seq,
            "id": self.id,
            "time": iso(self.time),
            "reconciled": self.reconciled,
            "cause": self.cause,
            "data": self.data,
        }

    @property
    def text(self) -> str:
        """The message serialized once, shared by every subscriber."""
        if not self._text:
            self._text.append(dumps(self.message()))
        return self._text[0]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
