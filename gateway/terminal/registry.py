"""The terminals this gateway talks to, by name, and which one serves a request.

Until accounts and the pool exist, every request goes to the first terminal, which serves the
account it is logged into. ``for_request`` is the seam where an account resolver slots in.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import TerminalUnavailable
from gateway.terminal.port import TerminalPort


class TerminalRegistry:
    def __init__(self, terminals: Sequence[TerminalPort]) -> None:
        self._terminals = {t.name: t for t in terminals}

    def all(self) -> list[TerminalPort]:
        return list(self._terminals.values())

    def get(self, name: str) -> TerminalPort | None:
        return self._terminals.get(name)

    def for_request(self) -> TerminalPort:
        """The terminal serving the caller's account (today: the first one)."""
        for terminal in self._terminals.values():
            return terminal
        raise TerminalUnavailable("No MT5 terminal configured")

    async def close(self) -> None:
        for terminal in self._terminals.values():
            await terminal.close()
