"""Who called a simulated terminal, and when: the record behind the test that several gateway
replicas never use one terminal at the same time.

Off until a test switches it on (``record_callers`` control). Each API call is then recorded as
``(caller, function, started_ns, ended_ns)`` (wall clock, nanoseconds), where ``caller`` numbers
the thread that made the call. The terminal server serves each client connection on a thread of
its own, so a caller is one client connection: one gateway replica's connection to this
terminal. ``last_error`` is not recorded (the server reads it after every call).
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

NOT_RECORDED = frozenset({"last_error"})


class CallerLog:
    """The calls one terminal received while recording was on (the newest ``limit``)."""

    def __init__(self, limit: int = 200_000) -> None:
        self.enabled = False
        self._calls: deque[tuple[int, str, int, int]] = deque(maxlen=limit)
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def caller(self) -> int:
        """This thread's caller number (given on its first recorded call)."""
        number = getattr(self._local, "number", None)
        if number is None:
            with self._lock:
                number = self._local.number = next(self._ids)
        return int(number)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` recording its calls while enabled."""
        if name in NOT_RECORDED:
            return function

        @functools.wraps(function)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled:
                return function(*args, **kwargs)
            started = time.time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                self._calls.append((self.caller(), name, started, time.time_ns()))

        return recorded

    def entries(self) -> list[tuple[int, str, int, int]]:
        return list(self._calls)

    def clear(self) -> None:
        self._calls.clear()
