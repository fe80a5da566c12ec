"""One endpoint call as data (:class:`Call`: the HTTP request, its retry kind, its answer's
model) and how argument values go on the wire (``datetime`` as ISO-8601, unset fields left out).
The calls themselves are in :mod:`.calls` (reads) and :mod:`.trade_calls` (trading).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from .retry import Kind

T = TypeVar("T")
When = datetime | int | float | str | None
Timeframe = Literal[
    "M1", "M2", "M3", "M4", "M5", "M6", "M10", "M12", "M15", "M20", "M30",
    "H1", "H2", "H3", "H4", "H6", "H8", "H12", "D1", "W1", "MN1",
]  # fmt: skip


@dataclass
class Call(Generic[T]):
    method: str
    path: str
    answer: Any  # a pydantic model class, or a type for TypeAdapter
    kind: Kind = "read"
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    idempotency_key: str | None = None

    def query(self) -> dict[str, Any]:
        return {k: wire_value(v) for k, v in self.params.items() if v is not None}

    def parse(self, data: Any) -> T:
        if isinstance(self.answer, type) and issubclass(self.answer, BaseModel):
            return self.answer.model_validate(data)  # type: ignore[return-value]
        return TypeAdapter(self.answer).validate_python(data)  # type: ignore[no-any-return]


def wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def json_body(**values: Any) -> dict[str, Any]:
    """A JSON body without the unset (None) fields, so the gateway's defaults apply."""
    return {k: wire_value(v) for k, v in values.items() if v is not None}
