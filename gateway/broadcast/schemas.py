"""Broadcast bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from gateway.accounts.context import ACCOUNT_ID_PATTERN
from gateway.deps import SYMBOL_PATTERN
from gateway.trading.schemas import PendingBody, TradeBody

MAX_TARGETS = 500
AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN)]
UserId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.@:-]+$")]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]


class Sizing(BaseModel):
    """How much each account trades:

    - ``fixed``: ``value`` lots;
    - ``multiplier``: ``value`` × the order's ``volume``;
    - ``risk_percent``: ``value`` % of the account's equity lost at the order's stop;
    - ``risk_amount``: ``value`` in the account currency lost at the order's stop.

    The risk rules need a stop (``stop_loss`` or ``stop_loss_points``) and round down to the
    symbol's volume step, like ``POST /calculate/position-size``."""

    mode: Literal["fixed", "multiplier", "risk_percent", "risk_amount"] = "multiplier"
    value: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False)


class Targets(BaseModel):
    users: list[UserId] = Field(default_factory=list, max_length=MAX_TARGETS)
    accounts: list[AccountId] = Field(default_factory=list, max_length=MAX_TARGETS)
    tag: Tag | None = Field(None, description="Every account its owner tagged so")

    @model_validator(mode="after")
    def _some(self) -> Targets:
        if not (self.users or self.accounts or self.tag):
            raise ValueError("name users, accounts or a tag")
        return self


class BroadcastBody(BaseModel):
    order: TradeBody | PendingBody = Field(
        description="The order; its volume is the base the multiplier sizing scales"
    )
    targets: Targets
    sizing: Sizing = Field(default_factory=lambda: Sizing(mode="multiplier", value=1.0))
    overrides: dict[AccountId, Sizing] = Field(
        default_factory=dict, max_length=MAX_TARGETS, description="Sizing per account id"
    )
    symbol_map: dict[Annotated[str, Field(max_length=64)], dict[Symbol, Symbol]] = Field(
        default_factory=dict,
        max_length=64,
        description="Per broker server, the symbol to trade instead (e.g. EURUSD → EURUSD.m); "
        "without an entry, a server lacking the symbol trades its one suffixed variant",
    )

    @model_validator(mode="after")
    def _risk_needs_a_stop(self) -> BroadcastBody:
        rules = [self.sizing, *self.overrides.values()]
        risky = any(s.mode.startswith("risk_") for s in rules)
        if risky and self.order.stop_loss in (None, 0) and self.order.stop_loss_points is None:
            raise ValueError("risk sizing needs stop_loss or stop_loss_points on the order")
        return self


class TargetOut(BaseModel):
    account_id: str
    user_id: str
    state: Literal["pending", "filled", "refused", "unknown", "closed"]
    symbol: str | None
    volume: float | None
    ticket: int | None
    price: float | None
    code: str | None = Field(description="Why it was refused (the API error code)")
    detail: str | None
    request_id: str | None = Field(description="The trade request, while being reconciled")


class Progress(BaseModel):
    pending: int = 0
    filled: int = 0
    refused: int = 0
    unknown: int = 0
    closed: int = 0


class BroadcastOut(BaseModel):
    id: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    progress: Progress
    targets: list[TargetOut]


class Exposure(BaseModel):
    symbol: str
    long: float = Field(description="Lots bought and still open")
    short: float = Field(description="Lots sold and still open")
    net: float = Field(description="long - short")
    accounts: int


class ExposureOut(BaseModel):
    id: str
    exposure: list[Exposure]


class TagsBody(BaseModel):
    tags: list[Tag] = Field(max_length=32)


class TagsOut(BaseModel):
    account_id: str
    tags: list[str]
