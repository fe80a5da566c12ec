"""Broker server time → true UTC.

MT5 returns every time as the broker server's wall clock written as epoch seconds (often UTC+2
or +3). The offset per server comes from ``SERVER_UTC_OFFSETS`` when configured, otherwise it
is *detected*: the newest quote among the terminal's symbols is compared with the gateway's UTC
clock and the difference rounded to the nearest half hour. Detection is accepted only when that
quote is fresh (within ``_FRESH_S`` of a half-hour step), so a closed market yields "unknown"
instead of a wrong guess; then times are returned as server time and the API says so.
Detected offsets are re-checked every ``ttl_s`` (daylight-saving changes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway.terminal.port import TerminalPort

log = logging.getLogger("gateway.servertime")

_STEP_S = 1800
_FRESH_S = 90
_MAX_OFFSET_S = 14 * 3600

OffsetSource = Literal["configured", "detected", "unknown"]


@dataclass(frozen=True, slots=True)
class TimeBasis:
    """How to read a server's times: ``offset_s`` seconds east of UTC, or unknown."""

    server: str
    offset_s: int | None
    source: OffsetSource

    @property
    def label(self) -> Literal["utc", "server"]:
        return "server" if self.offset_s is None else "utc"

    def to_utc(self, server_s: int) -> int:
        return server_s - (self.offset_s or 0)

    def to_server(self, utc_s: int) -> int:
        return utc_s + (self.offset_s or 0)


def detect_offset(latest_quote_s: int, utc_now_s: float) -> int | None:
    """The half-hour-aligned offset a fresh quote implies, or None if the quote is stale."""
    diff = latest_quote_s - utc_now_s
    offset = round(diff / _STEP_S) * _STEP_S
    if abs(diff - offset) > _FRESH_S or abs(offset) > _MAX_OFFSET_S:
        return None
    return int(offset)


class ServerClocks:
    """Per-server offsets: configured ones, plus detected ones cached for ``ttl_s``."""

    def __init__(
        self,
        configured: dict[str, int],
        *,
        ttl_s: float = 900.0,
        retry_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._configured = dict(configured)
        self._ttl_s = ttl_s
        self._retry_s = retry_s
        self._clock = clock
        self._detected: dict[str, tuple[TimeBasis, float]] = {}

    async def basis(self, terminal: TerminalPort, server: str | None = None) -> TimeBasis:
        """The time basis of the server ``terminal`` is logged into."""
        if server is None:
            server = str((await terminal.account_info())["server"])
        if server in self._configured:
            return TimeBasis(server, self._configured[server], "configured")
        cached = self._detected.get(server)
        now = self._clock()
        if cached is not None and now < cached[1]:
            return cached[0]
        basis = await self._detect(terminal, server)
        self._detected[server] = (
            basis,
            now + (self._ttl_s if basis.offset_s is not None else self._retry_s),
        )
        return basis

    async def _detect(self, terminal: TerminalPort, server: str) -> TimeBasis:
        symbols = await terminal.symbols_get()
        latest = max((int(s.get("time") or 0) for s in symbols), default=0)
        offset = detect_offset(latest, self._clock()) if latest else None
        if offset is None:
            log.warning("could not detect the UTC offset of %s; serving server time", server)
            return TimeBasis(server, None, "unknown")
        log.info("detected UTC offset of %s: %+d s", server, offset)
        return TimeBasis(server, offset, "detected")
