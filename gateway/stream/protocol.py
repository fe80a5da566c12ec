"""The messages a client may send on ``/api/v1/stream``, validated (docs/stream.md has them all).

Every server message is a JSON object with a ``type``. Errors are
``{"type": "error", "id": <the subscription's id or null>, "code": "...", "detail": "..."}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from gateway import mt5enums as e
from gateway.accounts.context import ACCOUNT_ID_PATTERN
from gateway.deps import SYMBOL_PATTERN
from gateway.events.schema import dumps

MAX_MESSAGE_BYTES = 16_384
MARKET_CHANNELS = ("quotes", "bars")
STATE_CHANNELS = ("account", "status")
EVENT_CHANNELS = ("positions", "orders", "deals")
CHANNELS = MARKET_CHANNELS + STATE_CHANNELS + EVENT_CHANNELS

Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Auth(_Message):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=8192)


class Subscribe(_Message):
    type: Literal["subscribe"]
    id: str | int = Field(description="Your reference for this subscription")
    channel: str | list[str] = Field(description="One channel, or several event channels")
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID_PATTERN)
    symbols: list[Symbol] | None = Field(default=None, min_length=1, max_length=100)
    symbol: Symbol | None = None
    timeframe: str | None = None
    after: int | None = Field(default=None, ge=0, le=2**62)

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str | int) -> str | int:
        if isinstance(value, str) and not 1 <= len(value) <= 64:
            raise ValueError("id must be 1 to 64 characters")
        return value

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        if value is not None and value not in e.TIMEFRAMES:
            raise ValueError(f"timeframe must be one of {', '.join(e.TIMEFRAMES)}")
        return value

    def channels(self) -> list[str]:
        names = [self.channel] if isinstance(self.channel, str) else list(self.channel)
        return list(dict.fromkeys(names))


class Unsubscribe(_Message):
    type: Literal["unsubscribe"]
    id: str | int


class Ping(_Message):
    type: Literal["ping", "pong"]
    time: Any = None


ClientMessage = Annotated[Auth | Subscribe | Unsubscribe | Ping, Field(discriminator="type")]
_adapter: TypeAdapter[Auth | Subscribe | Unsubscribe | Ping] = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    def __init__(self, code: str, detail: str, ref: str | int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail, self.ref = code, detail, ref

    def text(self) -> str:
        return error_text(self.code, self.detail, self.ref)


def parse(text: str) -> Auth | Subscribe | Unsubscribe | Ping:
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "MESSAGE_TOO_LARGE", f"messages are limited to {MAX_MESSAGE_BYTES} bytes"
        )
    try:
        return _adapter.validate_json(text)
    except ValidationError as exc:
        ref = _ref_of(text)
        errors = exc.errors()
        if any(err["type"] in ("json_invalid", "json_type") for err in errors):
            raise ProtocolError("BAD_MESSAGE", "messages are JSON objects") from None
        where = ".".join(str(p) for p in errors[0].get("loc", ()))
        detail = f"{where}: {errors[0].get('msg', 'invalid')}" if where else "invalid message"
        raise ProtocolError("VALIDATION_ERROR", detail, ref) from None


def _ref_of(text: str) -> str | int | None:
    try:
        ref = TypeAdapter(dict[str, Any]).validate_json(text).get("id")
    except ValidationError:
        return None
    return ref if isinstance(ref, str | int) and not isinstance(ref, bool) else None


def error_text(code: str, detail: str, ref: str | int | None = None) -> str:
    return dumps({"type": "error", "id": ref, "code": code, "detail": detail})
