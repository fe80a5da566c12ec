"""When to send a call again, and after how long. Shared by the sync and async clients.

A call is one of three kinds:

- ``read`` (GET, ``trades/check``): safe to repeat. Retried on connection errors, 503 and 504.
- ``trade`` (every state-changing trade call): carries an ``Idempotency-Key`` made once per
  call; every retry carries the *same* key, so the gateway runs the order at most once and
  answers a retry with the stored result. Retried on connection errors (a lost answer
  included), 503 and 504, unless the answer says ``retryable: false`` or is a replay (the
  stored, final answer for that key). While the first attempt still runs the gateway answers
  409 ``IDEMPOTENCY_IN_PROGRESS``, and an outcome it could not settle yet 504
  ``OUTCOME_UNKNOWN``: the client waits and asks again with the same key until
  ``settle_timeout_s``; a lost answer (the connection failed after the send) too. Only a
  connection that could not be opened counts against ``attempts``. A rejected order (REQUOTE,
  NO_MONEY...) is never re-sent: sending it again is a new order, the caller's decision
  (``error.retryable`` says whether it may work).
- ``write`` (everything else that changes state: account connect...): retried only when the
  connection could not even be opened, so nothing was sent.

``Retry-After`` is honoured (capped by ``max_retry_after_s``); otherwise the delay doubles
from ``backoff_s`` up to ``max_backoff_s``, with jitter.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from .errors import NOT_RETRYABLE_CODES, retry_after

Kind = Literal["read", "trade", "write"]
SETTLING_CODES = frozenset({"IDEMPOTENCY_IN_PROGRESS", "OUTCOME_UNKNOWN"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # sends of one call for transient failures (the first included)
    backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 30.0
    settle_timeout_s: float = 120.0  # how long a trade call waits for its outcome to settle

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(attempts=1, settle_timeout_s=0.0)


class Attempts:
    """The retry state of one call."""

    def __init__(self, policy: RetryPolicy, kind: Kind) -> None:
        self.policy, self.kind = policy, kind
        self.sent = 0
        self.transient = 0
        self.started = time.monotonic()

    def _backoff(self) -> float:
        base = min(self.policy.max_backoff_s, self.policy.backoff_s * 2.0 ** max(0, self.sent - 1))
        return base * (0.5 + random.random() / 2)

    def _delay(self, response: httpx.Response | None) -> float:
        hint = retry_after(response) if response is not None else None
        if hint is not None:
            return min(hint, self.policy.max_retry_after_s)
        return self._backoff()

    def _transient(self, response: httpx.Response | None) -> float | None:
        self.transient += 1
        if self.transient >= self.policy.attempts:
            return None
        return self._delay(response)

    def _settling(self, response: httpx.Response | None) -> float | None:
        """Wait for a trade's own outcome, bounded by ``settle_timeout_s`` (not by attempts)."""
        waited = time.monotonic() - self.started
        if waited >= self.policy.settle_timeout_s:
            return None
        return min(self._delay(response), self.policy.settle_timeout_s - waited)

    def after_exception(self, exc: httpx.TransportError) -> float | None:
        """Delay before the next attempt after a transport failure, or None: give up."""
        self.sent += 1
        if isinstance(exc, httpx.ConnectError):
            return self._transient(None)  # nothing was sent
        if self.kind == "write":
            return None  # it may have been sent and cannot be repeated safely
        if self.kind == "trade":
            return self._settling(None)  # the answer was lost: ask again with the same key
        return self._transient(None)

    def after_response(self, response: httpx.Response) -> float | None:
        """Delay before the next attempt after this answer, or None: it is the answer."""
        self.sent += 1
        status = response.status_code
        if status < 400 or self.kind == "write":
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        code = str(body.get("code") or "")
        if self.kind == "trade":
            if body.get("replayed"):
                return None  # the stored, final answer of this key
            if code in SETTLING_CODES:
                return self._settling(response)
            if body.get("retryable") is False:
                return None
        if status not in (503, 504) or code in NOT_RETRYABLE_CODES:
            return None
        return self._transient(response)
