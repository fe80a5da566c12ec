"""Response pieces shared by several domains."""

from __future__ import annotations

from typing import Any, Literal

import pydantic_core
from fastapi import Response
from pydantic import BaseModel, Field

from gateway.terminal.servertime import TimeBasis


class TimeBasisFields(BaseModel):
    """How to read the times in this answer."""

    time_basis: Literal["utc", "server"] = Field(
        description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset "
        "is unknown, so times are the broker server's wall clock as epoch seconds"
    )
    server_utc_offset_s: int | None = Field(
        description="Broker server time minus UTC, in seconds (None when unknown)"
    )


def basis_fields(basis: TimeBasis) -> dict[str, Any]:
    return {"time_basis": basis.label, "server_utc_offset_s": basis.offset_s}


class PrebuiltJSON(Response):
    """A JSON answer serialized straight from plain data (dicts, lists, numbers, strings), or
    given as JSON text already (``bytes``, e.g. from :func:`with_rows`).

    For big row sets (10,000 bars, 100,000 ticks) building one pydantic model per row costs
    several times the terminal call itself. Endpoints that answer with it still declare their
    ``response_model``, so the OpenAPI schema stays exact; the tests validate these bodies
    against those models."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return pydantic_core.to_json(content)


def with_rows(head: dict[str, Any], key: str, rows: bytes, tail: dict[str, Any]) -> bytes:
    """The JSON object ``{**head, key: [rows], **tail}`` where ``rows`` is the JSON text of the
    array's items, comma-separated (see ``gateway.market.service.rows_json``)."""
    start = pydantic_core.to_json(head)[:-1]
    end = pydantic_core.to_json(tail)[1:]
    glue = b"," if head else b""
    return b"".join(
        (start, glue, pydantic_core.to_json(key), b":[", rows, b"]", b"," if tail else b"", end)
    )
