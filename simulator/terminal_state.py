"""What one simulated terminal process holds, apart from the World it shares with others.

The terminal's API functions (``simulator/api_*.py``) and its test controls
(``simulator/controls.py``) both work on a :class:`TerminalState`; neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.arguments import SUCCESS
from simulator.callers import CallerLog


@dataclass(frozen=True)
class Session:
    """The logged-in account: its trade server, login and whether the password was investor's."""

    server: str
    login: int
    investor: bool


@dataclass
class Faults:
    """The terminal's switches and injected faults (all off in a fresh terminal)."""

    algo_trading: bool = True  # the AlgoTrading button
    tradeapi_disabled: bool = False  # the "disable Python API trading" option
    broker_connected: bool = True
    hang_s: float = 0.0  # every API call sleeps this long first
    fail_next: int | None = None  # the next order_send answers this retcode
    after_execute_s: float = 0.0  # the next order_send sleeps this long after executing


@dataclass
class TerminalState:
    """One terminal's IPC channel, session, last error, saved logins, Market Watch and books."""

    ipc: bool = False
    session: Session | None = None
    error: tuple[int, str] = SUCCESS
    passwords: dict[tuple[str, int], str] = field(default_factory=dict)  # (server, login)
    last_account: tuple[str, int] | None = None  # remembered for a bare initialize()
    selected: dict[str, set[str]] = field(default_factory=dict)  # Market Watch per server
    books: set[str] = field(default_factory=set)  # symbols with market_book_add
    faults: Faults = field(default_factory=Faults)
    applied_faults: set[int] = field(default_factory=set)  # indexes into World.fault_schedule
    callers: CallerLog = field(default_factory=CallerLog, compare=False, repr=False)

    def clear_views(self) -> None:
        """Forget Market Watch choices and book subscriptions."""
        self.selected.clear()
        self.books.clear()
