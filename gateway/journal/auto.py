"""Background journal sync for the accounts that opted in (``PUT …/sync {"auto_sync": true}``).

Every ``JOURNAL_AUTO_SYNC_S`` seconds each such account is synced (``sync.sync``) at low
priority, so that the terminals' time-sharing costs interactive users nothing:

- **Resident** (a healthy terminal of this gateway is logged into the account): synced on that
  terminal without any switch. The pool is asked with credentials that refuse to log in, so a
  race can never make it switch a terminal for a sync (when it would, the account is treated
  as away, below: so is an investor account whose master login the terminal holds).
  While that terminal is busy the sync is put off (``BUSY_SKIPS`` passes at most, then it queues
  for the terminal like one request of the gateway's own: no user's share is spent).
- **Away** (logged in nowhere here): visited, a real switch, only while the pool is idle:
  nothing queued and a terminal of this gateway free for the account's server. An account that
  another replica's terminal holds is left to that replica.
- Otherwise it stays due and is looked at again at the next pass (every ``tick_s``, at most
  ``MAX_TICK_S``).

The pool has no priority classes; this is the whole of "low priority", the same rule as the
event watcher's (``gateway/events/watcher.py``).

Concurrent syncs are safe, so nothing here locks across replicas (with ``REPLICA_LEASES``
several gateways may sync one account at once, or this loop and a client's ``POST …/sync``):
a trade row is unique per account by its external id ``mt5_{position}_{deal}`` and a balance
operation by its deal ticket, both inserted with ON CONFLICT DO NOTHING, so the second writer
of a row inserts nothing; the cursor moves with ``max``/``greatest`` in the same transaction as
the rows, so it never goes back and never passes deals whose rows are not committed; and each
sync reads from the cursor *inclusive*, so a deal in the cursor's own second is read again and
skipped, never lost. Two syncs that overlap do the same work twice and write it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts.context import DEFAULT_ACCOUNT_ID, pool_key, stored_credentials
from gateway.config import Settings
from gateway.db import session_scope
from gateway.errors import GatewayError
from gateway.journal import store
from gateway.journal.sync import SyncResult, sync
from gateway.store.crypto import Keyring
from gateway.store.models import Mt5Account
from gateway.terminal.errors import TerminalError
from gateway.terminal.pool import AccountKey, Credentials, PoolError, TerminalPool
from gateway.terminal.servertime import ServerClocks

log = logging.getLogger("gateway.journal")

BUSY_SKIPS = 3  # passes put off while the account's terminal is busy before queueing for it
MAX_TICK_S = 5.0


class NotResident(Exception):
    """Raised by the credentials of a resident sync: the pool wanted to switch a terminal."""


def _refuse() -> str:
    raise NotResident()


@dataclass(frozen=True)
class Target:
    account_id: str
    key: AccountKey
    credentials: Credentials


class AutoSync:
    """``async with AutoSync(...):`` syncs the opted-in accounts in the background until the
    block ends; :meth:`run_once` is one pass (what the loop runs every ``tick_s``)."""

    def __init__(
        self,
        *,
        pool: TerminalPool,
        sessions: async_sessionmaker[AsyncSession],
        clocks: ServerClocks,
        keyring: Keyring,
        settings: Settings,
        interval_s: float | None = None,
        tick_s: float | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self._pool, self._sessions, self._clocks = pool, sessions, clocks
        self._keyring, self._settings = keyring, settings
        self.interval_s = settings.journal_auto_sync_s if interval_s is None else interval_s
        self.tick_s = min(self.interval_s, MAX_TICK_S) if tick_s is None else tick_s
        self._timeout_s = settings.request_timeout_s if timeout_s is None else timeout_s
        self._done: dict[str, float] = {}  # account id → time.monotonic() of its last sync
        self._busy: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        self.results: dict[str, SyncResult] = {}  # the last sync's result per account
        self.runs: Counter[str] = Counter()  # syncs done per account

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self.interval_s > 0:
            self._task = asyncio.create_task(self._run(), name="journal-auto-sync")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("journal auto-sync pass failed; retrying")
            await asyncio.sleep(self.tick_s)

    # -- one pass -------------------------------------------------------------------------------

    async def run_once(self) -> dict[str, str]:
        """Sync the due accounts that can be synced cheaply now; what happened to each due one:
        ``synced``, ``busy`` (put off), ``away`` (not resident, pool not idle), ``elsewhere``
        (another replica holds it), ``gone`` (no such account any more) or ``error``."""
        async with session_scope(self._sessions) as session:
            ids = await store.auto_accounts(session)
            now = time.monotonic()
            due = [a for a in ids if now - self._done.get(a, -1e18) >= self.interval_s]
            targets = await self._targets(session, due) if due else {}
        for gone in set(self._done) - set(ids):
            self._done.pop(gone, None)
            self._busy.pop(gone, None)
        outcomes: dict[str, str] = {}
        for account_id in due:
            target = targets.get(account_id)
            outcomes[account_id] = "gone" if target is None else await self._visit(target)
        self.passes += 1
        return outcomes

    async def _visit(self, target: Target) -> str:
        resident = self._resident(target.key)
        if resident is not None:
            if resident and self._busy.get(target.account_id, 0) < BUSY_SKIPS:
                self._busy[target.account_id] = self._busy.get(target.account_id, 0) + 1
                return "busy"
            self._busy.pop(target.account_id, None)
            outcome = await self._sync_on(target, _refuse)
            if outcome != "away":
                return outcome
            # the pool would have switched: the terminal moved on meanwhile, or it holds the
            # master login of an investor account; an away account, then
        if self._pool.holdings.resident_elsewhere(target.key):
            return "elsewhere"
        if not self._idle(target.key.server):
            return "away"
        return await self._sync_on(target, target.credentials)

    async def _sync_on(self, target: Target, credentials: Credentials) -> str:
        deadline = self._pool.deadline(self._timeout_s)
        try:
            async with self._pool.session(target.key, credentials, deadline) as terminal:
                result = await sync(self._sessions, terminal, self._clocks, target.account_id)
        except (NotResident, PoolError):
            return "away"
        except (TerminalError, GatewayError) as exc:
            log.info("journal auto-sync of account %s: %s", target.account_id, type(exc).__name__)
            return "error"
        self._done[target.account_id] = time.monotonic()
        self.results[target.account_id] = result
        self.runs[target.account_id] += 1
        if result.synced or result.errors:
            log.info(
                "journal auto-sync of account %s: %d trades added, %d deals unmatched",
                target.account_id, result.synced, len(result.errors),
            )  # fmt: skip
        return "synced"

    def _resident(self, key: AccountKey) -> bool | None:
        """None: no terminal of ours holds ``key``; else whether the one holding it is busy."""
        for t in self._pool.snapshot().terminals:
            if t.healthy and t.held and t.login == key.login and t.server == key.server:
                return t.busy
        return None

    def _idle(self, server: str) -> bool:
        snap = self._pool.snapshot()
        free = any(
            t.healthy and t.held and not t.busy and t.only_server in (None, server)
            for t in snap.terminals
        )
        return snap.queued == 0 and free

    # -- which accounts -------------------------------------------------------------------------

    async def _targets(self, session: AsyncSession, ids: Iterable[str]) -> dict[str, Target]:
        wanted = set(ids)
        out: dict[str, Target] = {}
        rows = await session.scalars(
            select(Mt5Account).where(Mt5Account.id.in_(wanted), Mt5Account.deleted_at.is_(None))
        )
        for row in rows.all():
            key = pool_key(row.login, row.server, row.is_investor)
            out[row.id] = Target(row.id, key, stored_credentials(self._keyring, row))
        settings = self._settings
        if DEFAULT_ACCOUNT_ID in wanted and settings.has_default_account:
            key = AccountKey(settings.default_account_login, settings.default_account_server)
            password: Callable[[], str] = settings.default_account_password.get_secret_value
            out[DEFAULT_ACCOUNT_ID] = Target(DEFAULT_ACCOUNT_ID, key, password)
        return out
