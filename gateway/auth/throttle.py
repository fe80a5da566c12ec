"""The login throttle: one guard for every path that proves credentials.

An :class:`Attempt` names who is trying (``callers``: ``user:<sub>``, or ``ip:<address>`` when
nobody is signed in) and what they try to prove (``targets``: ``mt5:<login>@<server>`` for MT5
credentials, ``apikey:<prefix>`` for API keys). The counting rules are in
``gateway.store.throttle``: after ``LOGIN_THROTTLE_FREE_ATTEMPTS`` unproven attempts a key is
locked for ``LOGIN_THROTTLE_BASE_S``, doubling with each further failure up to
``LOGIN_THROTTLE_MAX_S``; a key idle for ``LOGIN_THROTTLE_WINDOW_S`` starts again.

Callers are always counted. A target is counted (and its lock consulted) only for an attempt
that *guesses* at it, so that nobody who knows a victim's login can lock the victim out:

- an attempt with the stored password (``stored_secret``: reconnect) guesses nothing: only its
  caller counts;
- a signed-in user who has proven the target before (a live stored account of theirs for that
  login@server that has connected: ``last_seen_at`` set) is not a stranger to it: the target's
  lock, run up by others, does not stop them, their failures do not add to it and their success
  does not clear it. Strangers, anonymous callers included, still count on the target, so
  guessing one login from many callers is still slowed. :meth:`LoginThrottle.guard` works this
  out (:meth:`LoginThrottle.vouched`) before it counts.

Ways to use it:

- around terminal work: ``async with throttle.guard(attempt, classify): ...``. It refuses with
  429 ``LOGIN_THROTTLED`` before the block runs; afterwards ``classify(exc)`` says whether an
  exception was a credential failure (counted, audited) or something that proves nothing (the
  attempt is given back);
- step by step, where the check is not a block of work (API-key authentication):
  ``await throttle.begin(attempt)``, then ``failure(attempt, reason)``, ``success(attempt)``
  or ``release(attempt)``;
- ``await throttle.check(attempt, keys)``: refuse while any of ``keys`` is locked, counting
  nothing (one read). API keys use it for a key that *was* right: its caller may be locked out
  by earlier failures, but its prefix target is not consulted, so nobody who saw a prefix can
  lock its owner out by sending wrong secrets with it.

Failures are written to the audit log (action ``login.failed``) with the targets and the lock.
Each step runs in its own short transaction: the request's transaction rolls back on the error
answer, and the count must stay.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import LoginThrottled
from gateway.store import audit
from gateway.store import throttle as store
from gateway.store.models import LoginThrottle as ThrottleRow
from gateway.store.throttle import Locked, Policy, seconds_until

log = logging.getLogger("gateway.throttle")

FAILED_ACTION = "login.failed"
Classify = Callable[[Exception], str | None]  # a failure reason, or None: proves nothing


@dataclass(frozen=True)
class Attempt:
    """One try at proving credentials; ``via`` names the path (``connect``, ``api-key``…)."""

    via: str
    callers: tuple[str, ...]
    targets: tuple[str, ...] = ()
    user_id: str | None = None
    account_id: str | None = None
    ip: str | None = None
    stored_secret: bool = False  # the stored password: no guess at the targets
    proven: frozenset[str] = frozenset()  # targets this caller has proven before

    @property
    def counted_targets(self) -> tuple[str, ...]:
        """The targets this attempt guesses at: counted, and refused while locked."""
        if self.stored_secret:
            return ()
        return tuple(t for t in self.targets if t not in self.proven)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.callers + self.counted_targets


def caller_keys(user_id: str | None, ip: str | None) -> tuple[str, ...]:
    """The signed-in user, else the client address."""
    return (f"user:{user_id}",) if user_id else (f"ip:{ip or 'unknown'}",)


def mt5_target(login: int, server: str) -> str:
    """MT5 credentials; server names compare without case, so ``SIM-DEMO`` is no way round."""
    return f"mt5:{login}@{server.strip().lower()}"


def _mt5_login(target: str) -> int | None:
    login, at, _ = target.removeprefix("mt5:").partition("@")
    return int(login) if target.startswith("mt5:") and at and login.isdigit() else None


def api_key_target(prefix: str) -> str:
    return f"apikey:{prefix}"


def policy_of(settings: Settings) -> Policy:
    return Policy(
        free=settings.login_throttle_free_attempts,
        base_s=settings.login_throttle_base_s,
        max_s=max(settings.login_throttle_max_s, settings.login_throttle_base_s),
        window_s=settings.login_throttle_window_s,
    )


class LoginThrottle:
    """The throttle of one application (its store and policy)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: Policy,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.clock = clock

    async def vouched(self, attempt: Attempt) -> Attempt:
        """The attempt with the MT5 targets its signed-in user has proven before marked
        ``proven`` (see the module's doc); unchanged for anonymous callers."""
        logins = {n for t in attempt.targets if (n := _mt5_login(t)) is not None}
        signed_in = attempt.user_id is not None and f"user:{attempt.user_id}" in attempt.callers
        if attempt.stored_secret or not logins or not signed_in:
            return attempt
        assert attempt.user_id is not None
        async with session_scope(self.sessionmaker) as session:
            held = await store.proven_logins(session, attempt.user_id, sorted(logins))
        proven = {mt5_target(login, server) for login, server in held} & set(attempt.targets)
        return replace(attempt, proven=frozenset(proven)) if proven else attempt

    async def begin(self, attempt: Attempt) -> None:
        """Count the attempt, or raise 429 ``LOGIN_THROTTLED`` (counting nothing)."""
        now = self.clock()
        try:
            async with session_scope(self.sessionmaker) as session:
                await store.prune(session, self.policy, now)
                await store.begin(session, attempt.keys, self.policy, now)
        except Locked as exc:
            log.info("credential attempt refused: throttled (%s)", attempt.via)
            raise LoginThrottled(exc.retry_after_s) from None

    async def check(self, attempt: Attempt, keys: Sequence[str] | None = None) -> None:
        """Raise 429 ``LOGIN_THROTTLED`` while one of ``keys`` (default: the attempt's) is
        locked; nothing is counted."""
        now = self.clock()
        chosen = sorted(set(attempt.keys if keys is None else keys))
        stmt = select(func.max(ThrottleRow.locked_until)).where(
            ThrottleRow.key.in_(chosen), ThrottleRow.locked_until > now
        )
        async with session_scope(self.sessionmaker) as session:
            until = (await session.execute(stmt)).scalar_one_or_none()
        if until is not None:
            log.info("credential attempt refused: throttled (%s)", attempt.via)
            raise LoginThrottled(seconds_until(until, now))

    async def failure(self, attempt: Attempt, reason: str) -> None:
        """The credentials were wrong: the count stays, the lock runs from now; audited."""
        now = self.clock()
        async with session_scope(self.sessionmaker) as session:
            until = await store.failed(session, attempt.keys, self.policy, now)
            await audit.append(
                session,
                user_id=attempt.user_id or attempt.callers[0],
                action=FAILED_ACTION,
                account_id=attempt.account_id,
                request={"via": attempt.via, "targets": list(attempt.targets)},
                outcome={
                    "reason": reason,
                    "locked_until": until.isoformat() if until is not None else None,
                },
                ip=attempt.ip,
            )
        log.info("credential attempt failed: %s (%s)", reason, attempt.via)

    async def success(self, attempt: Attempt) -> None:
        """The credentials were right: the counted targets start afresh."""
        async with session_scope(self.sessionmaker) as session:
            await store.succeeded(session, attempt.callers, attempt.counted_targets)

    async def release(self, attempt: Attempt) -> None:
        """The attempt proved nothing (terminal down, timeout…): it does not count."""
        async with session_scope(self.sessionmaker) as session:
            await store.released(session, attempt.keys)

    @asynccontextmanager
    async def guard(self, attempt: Attempt, classify: Classify) -> AsyncIterator[None]:
        """Refuse before the block when throttled; settle the attempt by how the block ended.
        Targets the caller has proven before are not counted (:meth:`vouched`)."""
        attempt = await self.vouched(attempt)
        await self.begin(attempt)
        try:
            yield
        except Exception as exc:
            reason = classify(exc)
            await self._settle(attempt, reason)
            raise
        except BaseException:  # cancelled: nothing was proven
            await self._settle(attempt, None)
            raise
        await self._settle(attempt, "", succeeded=True)

    async def _settle(self, attempt: Attempt, reason: str | None, succeeded: bool = False) -> None:
        # Never let bookkeeping replace the answer the caller is owed.
        try:
            if succeeded:
                await self.success(attempt)
            elif reason:
                await self.failure(attempt, reason)
            else:
                await self.release(attempt)
        except Exception as exc:
            log.error("login throttle bookkeeping failed: %s", type(exc).__name__)


async def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.state.throttle
    return throttle
