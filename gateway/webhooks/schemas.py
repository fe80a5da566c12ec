"""Request and response bodies of ``/api/v1/webhooks``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.accounts.context import ACCOUNT_ID_PATTERN
from gateway.events.schema import EVENT_TYPES

WILDCARDS = ("position.*", "order.*", "deal.*")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="Where to POST events (https in production)")
    account_id: str | None = Field(
        None, pattern=ACCOUNT_ID_PATTERN, description="One of your accounts; omit for all of them"
    )
    event_types: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Event types to send (e.g. position.closed, order.*); empty: all",
    )
    description: str | None = Field(None, max_length=255)

    @field_validator("url", "description")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("control characters are not allowed")
        return value

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in EVENT_TYPES and t not in WILDCARDS]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]!r}")
        return list(dict.fromkeys(value))


class WebhookOut(BaseModel):
    id: str
    url: str
    account_id: str | None = Field(description="None: all of your accounts")
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why deliveries stopped, when they did")
    disabled_at: datetime | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signing secret (whsec_...): shown only now; verify the webhook-signature "
        "header with it (Standard Webhooks)"
    )


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    account_id: str
    seq: int
    event_type: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    last_status: int | None = Field(description="HTTP status of the last attempt")
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    delivered_at: datetime | None


class ReplayResult(BaseModel):
    queued: int = Field(description="Events queued again for delivery")
    account_id: str
    after: int


class WebhooksPage(BaseModel):
    webhooks: list[WebhookOut]


class DeliveriesPage(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first")
