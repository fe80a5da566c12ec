"""Bodies and answers of the state-changing trading endpoints.

``TradeBody``/``TradeResult`` keep the seed 003 fields (symbol, order_type, volume, price,
stop_loss, take_profit → success, ticket, price, volume, symbol, type) and add the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.deps import SYMBOL_PATTERN
from gateway.validation import (
    Comment,
    Deviation,
    Level,
    Magic,
    Points,
    Price,
    Ticket,
    UtcTime,
    Volume,
)

Filling = Literal["fok", "ioc", "return", "boc"]
PendingType = Literal[
    "buy_limit", "sell_limit", "buy_stop", "sell_stop", "buy_stop_limit", "sell_stop_limit"
]
Expiration = Literal["gtc", "day", "specified", "specified_day"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StopsFields(_Body):
    stop_loss: Level | None = Field(None, description="SL price (0 removes it)")
    take_profit: Level | None = Field(None, description="TP price (0 removes it)")
    stop_loss_points: Points | None = Field(
        None, description="SL as a distance in points from the price"
    )
    take_profit_points: Points | None = Field(
        None, description="TP as a distance in points from the price"
    )

    @model_validator(mode="after")
    def _one_form(self) -> StopsFields:
        if self.stop_loss is not None and self.stop_loss_points is not None:
            raise ValueError("give stop_loss or stop_loss_points, not both")
        if self.take_profit is not None and self.take_profit_points is not None:
            raise ValueError("give take_profit or take_profit_points, not both")
        return self


class OrderFields(StopsFields):
    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["EURUSD"])
    volume: Volume = Field(description="Lots")
    magic: Magic = Field(0, description="Expert id copied to order/deal/position")
    comment: Comment = Field(
        "",
        description="Kept after the gateway's 12-character client id and a space, cut to 16 "
        "UTF-16 code units (MT5 keeps 29 of the whole comment; an emoji takes two)",
    )
    filling: Filling | None = Field(
        None, description="Preferred filling policy; on 10030 the next allowed one is tried"
    )
    filling_strict: bool = Field(False, description="Send only `filling`, never another policy")
    round_volume: bool = Field(
        False, description="Round the volume to the symbol's step instead of refusing it"
    )


class TradeBody(OrderFields):
    """A market order (seed 003 body plus optional fields)."""

    order_type: Literal["buy", "sell"]
    price: Price | None = Field(
        None, description="Expected price (instant/request execution; default: market)"
    )
    deviation: Deviation = Field(20, description="Accepted slippage in points")


class PendingBody(OrderFields):
    order_type: PendingType
    price: Price = Field(description="Activation price")
    stoplimit: Price | None = Field(
        None, description="Limit price of the order a stop-limit places"
    )
    expiration: Expiration = "gtc"
    expiration_time: UtcTime | None = Field(
        None, description="UTC time (ISO-8601; no zone means UTC) for expiration specified(_day)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PendingBody:
        if self.order_type.endswith("stop_limit") != (self.stoplimit is not None):
            raise ValueError("stoplimit is required for stop-limit orders and only for them")
        if self.expiration.startswith("specified") != (self.expiration_time is not None):
            raise ValueError("expiration_time is required with expiration specified(_day) only")
        return self


class CheckBody(OrderFields):
    """order_check of a market or pending order."""

    order_type: Literal["buy", "sell"] | PendingType
    price: Price | None = None
    stoplimit: Price | None = None
    deviation: Deviation = 20


class PositionStopsBody(StopsFields):
    """New SL/TP of a position; a field left out keeps its current value."""


class OrderModifyBody(StopsFields):
    price: Price | None = None
    stoplimit: Price | None = None
    expiration: Expiration | None = None
    expiration_time: UtcTime | None = None


class CloseByBody(_Body):
    opposite: Ticket = Field(description="Ticket of the opposite position")
    comment: Comment = ""


class CloseAllBody(_Body):
    symbol: str | None = Field(None, pattern=SYMBOL_PATTERN, description="Only this symbol")
    deviation: Deviation = 20
    comment: Comment = ""


class FillingAttempt(BaseModel):
    filling: str
    retcode: int


class TradeResult(BaseModel):
    """One MT5 request and its answer, normalized."""

    success: bool
    ticket: int = Field(description="Position (market) or order (pending) ticket; 0 if none")
    price: float
    volume: float
    symbol: str
    type: str
    retcode: int
    retcode_name: str
    message: str
    order: int
    deal: int
    position: int
    filling: str | None = Field(description="Filling policy the request was sent with")
    filling_attempts: list[FillingAttempt] = []
    request_id: str = Field(description="Gateway request id: GET /api/v1/trades/requests/{id}")
    mt5_request_id: int = 0
    client_id: str = Field(description="Id written at the start of the MT5 comment")
    state: Literal["done", "rejected", "unknown", "not_executed"]
    reconciled: bool = Field(False, description="Outcome found by looking the client id up")
    notes: list[str] = []


class CloseAllResult(BaseModel):
    success: bool
    closed: int
    results: list[dict[str, Any]] = Field(
        description="A TradeResult per position, or the refusal of one that was not sent"
    )


class CheckResult(BaseModel):
    success: bool
    retcode: int
    retcode_name: str
    message: str
    margin: float
    margin_free: float
    margin_level: float
    balance: float
    equity: float
    profit: float
    filling: str | None
    volume: float
    notes: list[str] = []


class TradeRequestState(BaseModel):
    request_id: str
    client_id: str
    account_id: str
    state: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
