"""Parsing the time parameters clients send: ISO-8601 or epoch seconds, always read as UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gateway.errors import ValidationFailed

_EPOCH = re.compile(r"^\d{1,11}(\.\d+)?$")
MAX_EPOCH_S = 2**31 - 1  # MT5 dates are int32 seconds


def parse_time(value: str, field: str) -> int:
    """``"2025-11-01T00:00:00Z"``, ``"2025-11-01"`` or ``"1761955200"`` → UTC epoch seconds.

    ISO values without a zone are taken as UTC.
    """
    text = value.strip()
    if _EPOCH.match(text):
        seconds = int(float(text))
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationFailed(
                f"{field}: expected an ISO-8601 date/time or epoch seconds, got {value!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int(moment.timestamp())
    if not 0 <= seconds <= MAX_EPOCH_S:
        raise ValidationFailed(
            f"{field}: out of range (1970-01-01 .. 2038-01-19T03:14:07Z, epoch 0 .. {MAX_EPOCH_S}:"
            " MT5 dates are 32-bit seconds)"
        )
    return seconds


def mt5_date(server_s: int) -> int:
    """A server-clock time as MT5's date arguments take it: 32-bit seconds, so a UTC time near
    either end moved by the broker's offset is held at MT5's first or last second."""
    return min(max(server_s, 0), MAX_EPOCH_S)


def parse_range(
    start: str | None, end: str | None, *, now: int, default_span_s: int
) -> tuple[int, int]:
    """A validated [start, end] in UTC seconds; end defaults to now, start to end - span."""
    end_s = parse_time(end, "end_date") if end is not None else now
    start_s = (
        parse_time(start, "start_date") if start is not None else max(0, end_s - default_span_s)
    )
    if start_s > end_s:
        raise ValidationFailed("start_date must not be after end_date")
    return start_s, end_s
