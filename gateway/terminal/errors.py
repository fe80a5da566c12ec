"""Errors of the terminal port, typed so services can map them without string matching.

TerminalError
 ├── TerminalUnreachable   the RPyC endpoint cannot be reached or the connection dropped
 ├── TerminalTimeout       a call did not answer within its deadline (outcome unknown)
 └── MT5Error              the MetaTrader5 call failed; carries last_error() code/message
"""

from __future__ import annotations


class TerminalError(Exception):
    """Base of every terminal failure."""

    def __init__(self, message: str, *, terminal: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.terminal = terminal


class TerminalUnreachable(TerminalError):
    """No usable connection to the terminal server."""


class TerminalTimeout(TerminalError):
    """The terminal did not answer in time; a trade may or may not have happened."""


class MT5Error(TerminalError):
    """A MetaTrader5 function returned its failure value, with last_error()'s code and message."""

    def __init__(self, function: str, code: int, mt5_message: str, *, terminal: str = "") -> None:
        super().__init__(f"{function} failed: ({code}, {mt5_message!r})", terminal=terminal)
        self.function = function
        self.code = code
        self.mt5_message = mt5_message
