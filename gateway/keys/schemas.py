"""Bodies and answers of ``/api/v1/keys``. The secret appears only in :class:`KeyCreated`."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.validation import Identifier, Text, UtcTime

Scope = Literal["read", "trade", "stream", "admin"]
MAX_NETWORKS = 32


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(min_length=1, max_length=100, description="Your name for it")]
    account_id: Identifier | None = Field(
        default=None, description="The one account it may act for; omit for all your accounts"
    )
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=4,
        description="read: GET routes; trade: orders and every other change; stream: the "
        "WebSocket stream; admin: /api/v1/admin (admins only)",
        examples=[["read", "trade"]],
    )
    expires_at: UtcTime | None = Field(
        default=None, description="When it stops working (ISO-8601; no zone = UTC); omit: never"
    )
    allowed_ips: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=MAX_NETWORKS,
        description="Addresses or CIDR networks it may be used from; omit: anywhere",
        examples=[["203.0.113.7", "10.0.0.0/8"]],
    )

    @field_validator("scopes")
    @classmethod
    def _unique(cls, value: list[Scope]) -> list[Scope]:
        return list(dict.fromkeys(value))

    @field_validator("allowed_ips")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out: list[str] = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"not an IP address or CIDR network: {item[:64]!r}") from None
        if not out:
            raise ValueError("give at least one network, or omit allowed_ips")
        return list(dict.fromkeys(out))


class KeyOut(BaseModel):
    id: str
    prefix: str = Field(description="Names the key in lists, logs and the audit trail")
    name: str
    account_id: str | None = Field(description="null: all your accounts")
    scopes: list[str]
    expires_at: datetime | None
    allowed_ips: list[str] | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="At most a minute behind")
    last_used_ip: str | None
    active: bool = Field(description="Neither revoked nor expired")


class KeyCreated(KeyOut):
    key: str = Field(
        description="The secret: send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`."
        " Shown only in this answer"
    )


class KeyList(BaseModel):
    keys: list[KeyOut]
