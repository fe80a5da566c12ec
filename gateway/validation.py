"""The constrained input types every request body, query and path parameter is built from.

What the API accepts is bounded by what the stores and MetaTrader5 can hold, so a client
mistake is a 422 at the edge instead of a failure after the terminal or the database saw it:

- floats are finite (Python's ``json`` reads ``Infinity``/``NaN``; PostgreSQL's JSONB and the
  API's own answers cannot carry them) and within sane bounds;
- integers fit the MT5 field they feed (tickets are positive signed 64-bit, as the stores keep
  them; ``magic`` is MT5's unsigned 64-bit);
- text holds no C0 control characters or DEL (PostgreSQL cannot store NUL; MT5's C strings end
  at it), and lone surrogates are refused by pydantic already;
- MT5 comments are measured in UTF-16 code units, as the MetaTrader5 module counts them
  (``PyUnicode_AsWideChar`` on Windows), see :func:`cut_utf16`.

:func:`storable` is the stores' last line of defence for JSON documents built from anything
that did not come through these types.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from annotated_types import Ge, Gt, Le
from pydantic import AfterValidator, AllowInfNan, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

INT63 = 2**63 - 1  # the largest ticket or id the stores (BIGINT) and the API accept
U64 = 2**64 - 1  # MT5's unsigned 64-bit fields (magic)
MAX_PRICE = 1e12  # above any instrument's price in any currency
MAX_VOLUME = 1_000_000.0  # lots
MAX_POINTS = 10_000_000
MAX_DEVIATION = 100_000  # points of accepted slippage
MAX_AMOUNT = 1e15  # account-currency amounts (risk limits)
MT5_COMMENT_UNITS = 29  # UTF-16 code units MT5 keeps of a comment (and of a symbol)
MAX_TIME_S = 32_503_680_000  # 3000-01-01T00:00:00Z
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
_CONTROLS = frozenset(range(0x20)) | {0x7F}


class _NoControls:
    """Refuses C0 control characters and DEL with a message saying so."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_controls, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        value = handler(schema)
        value.setdefault("pattern", TEXT_PATTERN)
        return value


def _no_controls(value: str) -> str:
    for index, char in enumerate(value):
        if ord(char) in _CONTROLS:
            raise ValueError(
                f"control character U+{ord(char):04X} at position {index}: "
                "text must not contain U+0000-U+001F or U+007F"
            )
    return value


# -- numbers ------------------------------------------------------------------------------------

FINITE = AllowInfNan(False)
Price = Annotated[float, Gt(0), Le(MAX_PRICE), FINITE]
"""A price (> 0, finite)."""
Level = Annotated[float, Ge(0), Le(MAX_PRICE), FINITE]
"""An SL/TP level (0 = none, finite)."""
Volume = Annotated[float, Gt(0), Le(MAX_VOLUME), FINITE]
"""Lots (> 0, finite)."""
Amount = Annotated[float, Gt(0), Le(MAX_AMOUNT), FINITE]
"""A positive amount of money (finite)."""
Points = Annotated[int, Gt(0), Le(MAX_POINTS)]
Deviation = Annotated[int, Ge(0), Le(MAX_DEVIATION)]
Ticket = Annotated[int, Ge(1), Le(INT63)]
"""An MT5 ticket (order, deal, position) or another positive 64-bit id."""
Magic = Annotated[int, Ge(0), Le(U64)]


def _utc_moment(value: datetime) -> datetime:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not 0 <= moment.timestamp() <= MAX_TIME_S:
        raise ValueError("must lie between 1970-01-01 and 3000-01-01 (UTC)")
    return moment


UtcTime = Annotated[datetime, AfterValidator(_utc_moment)]
"""A moment between 1970 and 3000; without a zone it is read as UTC."""

# -- text ---------------------------------------------------------------------------------------

Text = Annotated[str, _NoControls()]
"""Text without control characters (give it a length with ``Field(max_length=...)``)."""
Comment = Annotated[str, Field(max_length=64), _NoControls()]
"""A trade comment: up to 64 characters, of which MT5 keeps what fits after the gateway's
client id (see :func:`cut_utf16`)."""
Label = Annotated[str, Field(max_length=255), _NoControls()]
AuditAction = Annotated[str, Field(pattern=r"^[a-z][a-z_.]{0,63}$")]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
"""A gateway id (UUIDs, ``default``): letters, digits and dashes."""
RequestId = Identifier
AccountId = Identifier


# -- MT5 comments ---------------------------------------------------------------------------------


def utf16_units(text: str) -> int:
    """How many UTF-16 code units ``text`` takes (characters outside the BMP take two)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def cut_utf16(text: str, units: int) -> str:
    """The longest prefix of ``text`` that fits ``units`` UTF-16 code units (no half pairs)."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


# -- what the stores can hold -------------------------------------------------------------------


def storable(value: Any) -> Any:
    """A copy of a JSON-like value that SQLite and PostgreSQL JSON(B) can both hold: NUL and
    lone surrogates in strings (keys too) become U+FFFD, non-finite floats become ``None``."""
    if isinstance(value, str):
        return _storable_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_storable_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _storable_text(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text
    return "".join("\ufffd" if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
