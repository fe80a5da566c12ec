"""One watched account: poll it, turn the differences into stored events, publish them.

A watcher polls its account once per interval, however many clients follow it, and only while
someone does (a stream subscription or a webhook endpoint). A poll is one terminal round trip
(account, terminal state, positions, orders, and the deals and history orders since a little
before the newest activity seen), plus one look-up per pending order that left without a trace
in that window.

Time-shared terminals. The watcher polls an account only where it is *resident* (a healthy,
idle terminal is logged into it), and then without any switch: it borrows that terminal through
the pool like a request, with credentials that refuse to log in, so a race can never make the
pool switch a terminal for a poll. An account that is not resident is *away*: the ``status``
channel says so, with ``as_of`` the time of the last poll. With ``away_poll_s`` > 0 an away
account is visited (a real switch) at most that often and only while the pool is idle: no
request waits in its queue and a terminal is free. When the account is back (a request or a
visit logged it in), the first poll reads everything since the last one and stores it as
events marked ``reconciled``, in the order the broker timestamped them. The same happens after
a gateway restart: the view the last events led to is stored with them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.events import causes, store
from gateway.events.bus import Notice, Publisher
from gateway.events.differ import Observed, View, baseline, diff, window_start
from gateway.events.schema import Event, EventDraft, dumps, iso
from gateway.store.models import utcnow
from gateway.terminal.errors import TerminalError
from gateway.terminal.pool import AccountKey, Credentials, PoolError, TerminalPool, TerminalState
from gateway.terminal.port import Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis

log = logging.getLogger("gateway.events")

Sink = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]
"""Called inside the transaction that stores new events (e.g. the webhook outbox)."""

FIGURES = ("balance", "equity", "margin", "margin_free", "margin_level", "profit", "credit")
PERSIST_EVERY_S = 60.0  # the view is stored with every event, and at least this often
BUSY_SKIPS = 3  # polls skipped while the account's terminal is busy before waiting for it


class NotResident(Exception):
    """Raised by the credentials of a poll: the pool wanted to switch a terminal for it."""


def _refuse() -> str:
    raise NotResident()


@dataclass(frozen=True)
class WatchTarget:
    account_id: str  # the store's id, or "default" for the configured account
    key: AccountKey
    credentials: Credentials  # used only for the idle-time visits of an away account


@dataclass(frozen=True)
class WatchConfig:
    interval_s: float = 1.0
    away_poll_s: float = 0.0
    poll_timeout_s: float = 5.0


def topic(kind: str, account_id: str) -> str:
    return f"{kind}/{account_id}"


class AccountWatcher:
    def __init__(
        self,
        target: WatchTarget,
        *,
        pool: TerminalPool,
        sessions: async_sessionmaker[AsyncSession],
        clocks: ServerClocks,
        bus: Publisher,
        sinks: Sequence[Sink] = (),
        config: WatchConfig = WatchConfig(),
    ) -> None:
        self.target = target
        self.account_id = target.account_id
        self._pool, self._sessions, self._clocks, self._bus = pool, sessions, clocks, bus
        self._sinks = list(sinks)
        self._config = config
        self.seq = 0
        self.view: View | None = None
        self.basis: TimeBasis | None = None
        self.as_of: datetime | None = None
        self.ready = asyncio.Event()
        self.figures: Notice | None = None
        self.status: Notice | None = None
        self.polls = 0
        self._gap = False  # the next poll reconciles (restart, or back from away)
        self._persisted = 0.0
        self._busy_skips = 0
        self._last_visit = 0.0
        self._status_key: tuple[Any, ...] | None = None
        self._figures: dict[str, Any] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def load(self) -> None:
        """The stored view and seq (what the events so far describe), if any."""
        async with session_scope(self._sessions) as session:
            row = await store.stream_of(session, self.account_id)
        if row is not None:
            self.seq = row.seq
            self.as_of = row.as_of
            if row.state:
                self.view = View.from_json(row.state)
                basis = row.state.get("basis") or {}
                self.basis = TimeBasis(
                    self.target.key.server, basis.get("offset_s"), basis.get("source", "unknown")
                )
                self._gap = True
                self.ready.set()
        await self._set_status("away", None, None)

    async def run(self) -> None:
        """Poll every interval until cancelled (call :meth:`load` first)."""
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watching account %s failed; retrying", self.account_id)
            await asyncio.sleep(self._config.interval_s)

    # -- one poll -------------------------------------------------------------------------------

    async def poll(self) -> None:
        terminal = self._resident()
        if terminal is None:
            await self._set_status("away", None, None)
            if not self._may_visit():
                self._gap = self._gap or self.view is not None
                return
            credentials: Credentials = self.target.credentials
            self._last_visit = time.monotonic()
        else:
            if terminal.busy and self._busy_skips < BUSY_SKIPS:
                self._busy_skips += 1
                return
            credentials = _refuse
        self._busy_skips = 0
        deadline = self._pool.deadline(self._config.poll_timeout_s)
        try:
            async with self._pool.session(self.target.key, credentials, deadline) as port:
                observed, info = await self._observe(port)
                name = port.name
        except (NotResident, PoolError):
            self._gap = self._gap or self.view is not None
            await self._set_status("away", None, None)
            return
        except TerminalError as exc:
            log.info("poll of account %s: %s", self.account_id, type(exc).__name__)
            await self._set_status("error", None, None)
            return
        await self._record(observed)
        self.polls += 1
        await self._set_status("live", name, bool(info.get("connected", True)))

    def _resident(self) -> TerminalState | None:
        key = self.target.key
        for t in self._pool.snapshot().terminals:
            if t.healthy and t.held and t.login == key.login and t.server == key.server:
                return t
        return None

    def _may_visit(self) -> bool:
        """An away account may be visited now: the setting allows it, its time has come and
        the pool is idle (nothing queued, a terminal free for this server)."""
        every = self._config.away_poll_s
        if every <= 0 or time.monotonic() - self._last_visit < every:
            return False
        if self._pool.holdings.resident_elsewhere(self.target.key):
            return False  # another replica's terminal holds it: that replica records it
        snap = self._pool.snapshot()
        server = self.target.key.server
        free = any(
            t.healthy and not t.busy and t.only_server in (None, server) for t in snap.terminals
        )
        return snap.queued == 0 and free

    async def _observe(self, port: TerminalPort) -> tuple[Observed, Record]:
        basis = await self._clocks.basis(port, self.target.key.server)
        start = window_start(self.view)
        end = basis.to_server(int(time.time())) + 2 * 86400
        account, info, positions, orders, deals, history = await port.batch(
            [
                ("account_info", (), {}),
                ("terminal_info", (), {}),
                ("positions_get", (), {}),
                ("orders_get", (), {}),
                ("history_deals_get", (start, end), {}),
                ("history_orders_get", (start, end), {}),
            ]
        )
        if int(account["login"]) != self.target.key.login:
            raise NotResident()  # the terminal changed accounts under us: try again later
        history = list(history or [])
        if self.view is not None:
            known = {int(o["ticket"]) for o in history}
            now_open = {int(o["ticket"]) for o in orders or []}
            for ticket in set(self.view.orders) - now_open - known:
                history += await port.history_orders_get(ticket=ticket) or []
        self.basis = basis
        observed = Observed(
            account=account,
            positions=list(positions or []),
            orders=list(orders or []),
            deals=list(deals or []),
            history_orders=history,
            now_ms=int(time.time() * 1000),
        )
        return observed, info

    async def _record(self, observed: Observed) -> None:
        assert self.basis is not None
        now = utcnow()
        drafts: list[EventDraft] = []
        if self.view is None:
            view, first = baseline(observed), True
        else:
            drafts, view = diff(self.view, observed, self.basis)
            first = False
        events: list[Event] = []
        due = time.monotonic() - self._persisted >= PERSIST_EVERY_S
        if drafts or first or due:
            async with session_scope(self._sessions) as session:
                stored = await store.lock_stream(session, self.account_id)
                if stored is not None and stored.seq != self.seq and stored.state:
                    # Another writer (a replica whose terminal held the account meanwhile)
                    # recorded events since this view: go on from the view it stored.
                    drafts, view = diff(View.from_json(stored.state), observed, self.basis)
                    self.seq = stored.seq
                if drafts:
                    await causes.resolve(session, self.account_id, drafts)
                events = await store.append(
                    session,
                    self.account_id,
                    drafts,
                    state=view.to_json() | {"basis": self._basis_json()},
                    as_of=now,
                    reconciled=self._gap,
                )
                for sink in self._sinks:
                    if events:
                        await sink(session, events)
            self._persisted = time.monotonic()
            if events:
                self.seq = events[-1].seq
        self.view, self.as_of, self._gap = view, now, False
        self.ready.set()
        if events:
            text = "[" + ",".join(e.text for e in events) + "]"
            await self._bus.publish(topic("events", self.account_id), Notice(text, None, events))
        await self._publish_figures(observed.account)

    def _basis_json(self) -> dict[str, Any]:
        assert self.basis is not None
        return {"offset_s": self.basis.offset_s, "source": self.basis.source}

    # -- conflated state: figures and status ----------------------------------------------------

    async def _publish_figures(self, account: Record) -> None:
        values = {k: account.get(k) for k in FIGURES}
        if self.figures is not None and self._figures == values:
            return
        message = {
            "type": "account",
            "account_id": self.account_id,
            "login": account.get("login"),
            "currency": account.get("currency"),
            **{("free_margin" if k == "margin_free" else k): v for k, v in values.items()},
            "as_of": iso(self.as_of or utcnow()),
            "seq": self.seq,
        }
        self._figures = values
        self.figures = Notice(dumps(message), f"account/{self.account_id}")
        await self._bus.publish(topic("account", self.account_id), self.figures)

    async def _set_status(self, state: str, terminal: str | None, broker: bool | None) -> None:
        status_key = (state, terminal, broker)
        if status_key == self._status_key:
            return
        self._status_key = status_key
        message = {
            "type": "status",
            "account_id": self.account_id,
            "state": state,
            "resident": state == "live",
            "terminal": terminal,
            "broker_connected": broker,
            "as_of": iso(self.as_of) if self.as_of else None,
            "poll_interval_s": self._config.interval_s,
            "seq": self.seq,
        }
        self.status = Notice(dumps(message), f"status/{self.account_id}")
        await self._bus.publish(topic("status", self.account_id), self.status)
