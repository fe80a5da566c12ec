"""An account's trade ledger after the HTTP call: finishing requests whose outcome is unknown.

A request whose answer was lost (timeout, dropped connection, or a failure of the gateway
itself after the send) keeps its ``trade_requests`` row, committed before the send. A
background task looks for it on the terminal until it finds it or proves it absent, then
settles the row, the idempotency key and the audit trail in one transaction
(:meth:`Ledger.finish_later`). ``gateway.trading.resume`` uses the same at startup for rows an
earlier run left unsettled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.store import audit, idempotency, trades
from gateway.store.models import TradeState
from gateway.store.transact import Tx, transact
from gateway.terminal.errors import TerminalError
from gateway.terminal.port import TerminalPort
from gateway.trading.prepare import Prepared
from gateway.trading.reconcile import Probe
from gateway.trading.results import result_body
from gateway.trading.sender import Sent

log = logging.getLogger("gateway.trading")

Reopen = Callable[[], AbstractAsyncContextManager[TerminalPort]]
BACKGROUND_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0)
ABSENT_CONFIRMATIONS = 3  # successful look-ups finding nothing before "not executed"
# ...and not before this long after the look-ups began: a send whose answer was lost may still
# be waiting in the terminal server's queue (behind a slow call) and execute later; a retry
# allowed by a premature "not executed" would then make a second order.
ABSENT_AFTER_S = 30.0
HEDGING = 2  # account_info().margin_mode of a retail hedging account
_MARGIN_MODES: dict[str, int] = {}  # account id → margin mode (fixed for an account's life)
_MARGIN_MODES_MAX = 10_000


@dataclass(frozen=True)
class RowRef:
    """A ``trade_requests`` row by its ids (plain values: no ORM object outlives its session)."""

    request_id: str
    client_id: str


class Reconciliations:
    """The app's background look-ups for unknown outcomes (one set per app, in its lifespan)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel them at shutdown; the next start resumes their requests from the ledger."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(kw_only=True)
class Ledger:
    """An account's trade ledger and audit trail, and the finishing of unknown outcomes: all
    that outlives one HTTP call (background reconciliation, resumption after a restart)."""

    account_id: str
    user_id: str
    sessions: async_sessionmaker[AsyncSession]
    reopen: Reopen
    background: Reconciliations
    ip: str | None = None

    def finish_later(self, prepared: Prepared, row: RowRef, probe: Probe, key: str | None) -> None:
        """Keep looking for the outcome of ``row`` in the background until it is known; then
        settle it (and complete or release ``key`` with it)."""
        self.background.spawn(self._finish(prepared, row, probe, key))

    async def _finish(self, prepared: Prepared, row: RowRef, probe: Probe, key: str | None) -> None:
        absent = 0
        found: Sent | None = None
        position = 0
        started = time.monotonic()
        for delay in BACKGROUND_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                if found is None:
                    async with self.reopen() as terminal:
                        record = await probe(terminal)
                        if record is None:
                            absent += 1
                            waited = time.monotonic() - started
                            if absent < ABSENT_CONFIRMATIONS or waited < ABSENT_AFTER_S:
                                continue
                            sent = Sent(state="not_executed")
                        else:
                            sent = Sent(state="done", answer=record, reconciled=True)
                        position = await position_of(terminal, prepared, sent)
                    found = sent
                await self._resolve(prepared, row, found, position, key)
            except Exception as exc:  # any failure (terminal or store): keep trying later
                log.info("background reconciliation of %s: %s", row.request_id, type(exc).__name__)
                continue
            return
        log.warning("trade request %s: outcome still unknown after reconciliation", row.request_id)

    async def _resolve(
        self, prepared: Prepared, row: RowRef, sent: Sent, position: int, key: str | None
    ) -> None:
        status, body = result_body(prepared, sent, row.request_id, row.client_id, position)
        entry = audit.entry_values(
            user_id=self.user_id,
            action="trade.reconciled",
            account_id=self.account_id,
            request={"request_id": row.request_id},
            outcome={"status": status, **body},
            retcode=body.get("retcode"),
            ip=None,
        )
        user_id, state = self.user_id, state_of(sent)
        release = key is not None and sent.state == "not_executed"
        completion = (user_id, key, status, body) if key is not None and not release else None

        def settle(tx: Tx) -> None:
            if release and key is not None:
                idempotency.release_row(tx, user_id=user_id, key=key)
            trades.settle_with_audit(tx, [(row.request_id, state, body)], completion, entry)

        await transact(self.sessions, settle, one_statement=not release)
        log.info("trade request %s reconciled: %s", row.request_id, sent.state)


def state_of(sent: Sent) -> TradeState:
    return {
        "done": TradeState.DONE,
        "rejected": TradeState.FAILED,
        "not_executed": TradeState.FAILED,
        "unknown": TradeState.UNKNOWN,
    }[sent.state]


async def position_of(
    terminal: TerminalPort, prepared: Prepared, sent: Sent, account_id: str | None = None
) -> int:
    """The position a deal opened or changed.

    On a hedging account a deal that opens a position opens a new one, whose ticket is the
    order's (MT5: position ticket = identifier = opening order ticket), so nothing is asked.
    On a netting account the deal may add to the symbol's position: its deal says which. The
    margin mode of ``account_id`` is asked once per process (it never changes)."""
    if prepared.ticket:
        return prepared.ticket
    answer = sent.answer or {}
    if sent.state != "done" or not answer.get("deal"):
        return 0
    if account_id is not None and await _margin_mode(terminal, account_id) == HEDGING:
        return int(answer.get("order") or 0)
    try:
        deals = await terminal.history_deals_get(ticket=int(answer["order"]))
    except TerminalError:
        return int(answer.get("order") or 0)
    return int(deals[0]["position_id"]) if deals else int(answer.get("order") or 0)


async def _margin_mode(terminal: TerminalPort, account_id: str) -> int | None:
    mode = _MARGIN_MODES.get(account_id)
    if mode is None:
        try:
            mode = int((await terminal.account_info())["margin_mode"])
        except TerminalError:
            return None
        if len(_MARGIN_MODES) >= _MARGIN_MODES_MAX:
            _MARGIN_MODES.clear()
        _MARGIN_MODES[account_id] = mode
    return mode
