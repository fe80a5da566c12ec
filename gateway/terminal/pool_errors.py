"""Why the terminal pool refused or dropped a request (terminal failures stay ``TerminalError``).

    PoolError
     ├── PoolBusy               no terminal in time: queue full, deadline passed, none healthy
     │    └── UserBusy          this user already has their share of the pool's work
     ├── NoTerminalForServer    market data for a server nobody is on, and no account to log in
     ├── PoolClosed             the pool shut down while the request waited
     └── ServedElsewhere        another gateway replica should serve it (forward it there)

Each busy error carries ``retry_after_s`` for a ``Retry-After`` header.
"""

from __future__ import annotations


class PoolError(Exception):
    """Base of the pool's own errors."""


class PoolBusy(PoolError):
    """No terminal in time: the queue is full or the deadline passed. Maps to 503 + Retry-After."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(f"terminal pool busy: {reason}; retry after {retry_after_s} s")
        self.reason = reason
        self.retry_after_s = retry_after_s


class UserBusy(PoolBusy):
    """The user already has ``limit`` requests in flight or queued; refused before queueing, so
    the others' requests are unaffected. Maps to 429 ``USER_BUSY`` + Retry-After."""

    def __init__(self, user: str, limit: int, retry_after_s: int) -> None:
        super().__init__(f"user has {limit} terminal requests in progress", retry_after_s)
        self.user = user
        self.limit = limit


class NoTerminalForServer(PoolError):
    """Market data for a broker server that no terminal is logged into, and no account to log in."""

    def __init__(self, server: str) -> None:
        super().__init__(f"no terminal is logged into server {server!r}")
        self.server = server


class PoolClosed(PoolError):
    """The pool was closed while the request waited."""


class ServedElsewhere(PoolError):
    """Another gateway replica should serve this request (its terminal holds the account, or it
    holds a terminal for the server and this one does not): the caller forwards it there.
    Raised only for requests that may be forwarded (see ``gateway/replicas``)."""

    def __init__(self, replica: str, address: str) -> None:
        super().__init__(f"served by replica {replica}")
        self.replica = replica
        self.address = address
