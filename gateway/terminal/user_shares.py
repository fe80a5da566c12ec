"""Each user's share of the terminal pool: how many requests one user may have in it at once.

A request counts from the moment it asks for a terminal (queued) until its session ends (in
flight). A user at ``limit`` is refused at once, before queueing (``UserBusy``: 429 with
``Retry-After``), so one user's flood fills neither the terminals nor the shared queue, and the
other users' requests go on as if it were not there. Requests without a user (the gateway's own
work, such as warming the configured account) are not counted.

Which of the admitted requests is served next is the scheduler's round-robin between users
(``scheduler.py``).
"""

from __future__ import annotations


class UserShares:
    """Requests in the pool per user, at most ``limit`` each."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the per-user limit must be >= 1")
        self.limit = limit
        self._load: dict[str, int] = {}
        self.refused = 0

    def admit(self, user: str | None) -> bool:
        """Count one more request of ``user``; False (and nothing counted) if at the limit."""
        if user is None:
            return True
        load = self._load.get(user, 0)
        if load >= self.limit:
            self.refused += 1
            return False
        self._load[user] = load + 1
        return True

    def done(self, user: str | None) -> None:
        """One request of ``user`` left the pool (served, failed, expired or cancelled)."""
        if user is None:
            return
        load = self._load.get(user, 0) - 1
        if load > 0:
            self._load[user] = load
        else:
            self._load.pop(user, None)

    def load(self, user: str) -> int:
        return self._load.get(user, 0)

    @property
    def users(self) -> int:
        """How many users have requests in the pool right now."""
        return len(self._load)
