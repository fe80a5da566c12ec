"""The trading desk: idempotency, the trade-request ledger, audit, and finishing unknown outcomes.

For a state-changing call:

1. the ``Idempotency-Key`` is claimed in its own committed transaction (a replay answers the
   stored result; same key, other body → 422; a concurrent duplicate → 409);
2. the request is prepared (checks; a refusal releases the key: nothing was sent);
3. each MT5 request gets a ``trade_requests`` row (committed *before* the send) whose client id
   starts the MT5 comment; then it is sent (``sender.send``);
4. a known outcome completes the key with the answer; an unknown one (the answer was lost and
   the look-up could not decide) answers 504 ``OUTCOME_UNKNOWN`` and a background task keeps
   looking until it finds the order or proves it absent, then completes the key;
5. every call is audited: who, which account, what was asked, what MT5 answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.errors import GatewayError, from_terminal_error
from gateway.store import audit, idempotency, trades
from gateway.store.idempotency import Outcome
from gateway.store.models import IdempotencyKey, TradeRequest, TradeState
from gateway.terminal.errors import TerminalError
from gateway.terminal.port import TerminalPort
from gateway.trading import sender
from gateway.trading.errors import IdempotencyConflict, IdempotencyMismatch
from gateway.trading.prepare import Prepared
from gateway.trading.reconcile import ByClientId, Probe
from gateway.trading.results import Answer, result_body
from gateway.trading.sender import Sent

log = logging.getLogger("gateway.trading")

Reopen = Callable[[], AbstractAsyncContextManager[TerminalPort]]
BACKGROUND_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0)
ABSENT_CONFIRMATIONS = 3  # successful look-ups finding nothing before "not executed"
COMMENT_ROOM = 29  # MT5 keeps 29 characters


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


def mt5_comment(client_id: str, user_comment: str) -> str:
    text = f"{client_id} {user_comment.strip()}".strip()
    return text[:COMMENT_ROOM]


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

    def _scope(self) -> AbstractAsyncContextManager[AsyncSession]:
        return session_scope(self.sessions)

    # -- unknown outcomes ----------------------------------------------------------------------

    def finish_later(
        self, prepared: Prepared, request_id: str, probe: Probe, key: str | None
    ) -> None:
        """Keep looking for the outcome of ``request_id`` in the background until it is known."""
        self.background.spawn(self._finish(prepared, request_id, probe, key))

    async def _finish(
        self, prepared: Prepared, request_id: str, probe: Probe, key: str | None
    ) -> None:
        absent = 0
        for delay in BACKGROUND_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                async with self.reopen() as terminal:
                    found = await probe(terminal)
                    if found is None:
                        absent += 1
                        if absent < ABSENT_CONFIRMATIONS:
                            continue
                        sent = Sent(state="not_executed")
                    else:
                        sent = Sent(state="done", answer=found, reconciled=True)
                    position = await _position_of(terminal, prepared, sent)
            except Exception as exc:  # any failure: keep looking later
                log.info("background reconciliation of %s: %s", request_id, type(exc).__name__)
                continue
            await self._resolve(prepared, request_id, sent, position, key)
            return
        log.warning("trade request %s: outcome still unknown after reconciliation", request_id)

    async def _resolve(
        self, prepared: Prepared, request_id: str, sent: Sent, position: int, key: str | None
    ) -> None:
        async with self._scope() as session:
            row = await trades.get_for_user(session, self.user_id, request_id)
            assert row is not None
            status, body = result_body(prepared, sent, request_id, row.client_id, position)
            await trades.set_state(session, row, _state(sent), body)
            if key is not None:
                record = await idempotency.find(session, user_id=self.user_id, key=key)
                if record is not None and sent.state == "not_executed":
                    await idempotency.release(session, record)  # the client may simply retry
                elif record is not None:
                    await idempotency.complete(session, record, status_code=status, body=body)
            await audit.append(
                session,
                user_id=self.user_id,
                action="trade.reconciled",
                account_id=self.account_id,
                request={"request_id": request_id},
                outcome={"status": status, **body},
                retcode=body.get("retcode"),
                ip=None,
            )
        log.info("trade request %s reconciled: %s", request_id, sent.state)


@dataclass(kw_only=True)
class Desk(Ledger):
    """One state-changing call on the caller's account (see the module docstring)."""

    terminal: TerminalPort
    sends: int = 0  # MT5 requests sent during this call

    # -- the call ------------------------------------------------------------------------------

    async def call(
        self,
        action: str,
        payload: dict[str, Any],
        key: str | None,
        work: Callable[[], Awaitable[Answer]],
    ) -> Answer:
        """Run ``work`` once per idempotency key; answer (status, body)."""
        claim = await self._claim(key, action, payload)
        if isinstance(claim, tuple):
            return claim
        try:
            answer = await work()
        except (GatewayError, TerminalError) as exc:
            if self.sends:  # something reached the terminal first: the error is the answer
                error = exc if isinstance(exc, GatewayError) else from_terminal_error(exc)
                await self._complete(claim, error.status, error.body())
            else:  # refused before anything was sent: the key is free again
                await self._release(claim)
            await self._audit(action, payload, {"refused": type(exc).__name__, **_why(exc)}, None)
            raise
        except BaseException:
            if not self.sends:
                await self._release(claim)
            raise
        status, body, final = answer
        if final:
            await self._complete(claim, status, body)
        retcode = body.get("retcode") if isinstance(body.get("retcode"), int) else None
        await self._audit(action, payload, {"status": status, **body}, retcode)
        return answer

    async def send(
        self, prepared: Prepared, user_comment: str, key: str | None, *, owns_key: bool = True
    ) -> Answer:
        """One MT5 request with its ledger row; (status, normalized body, outcome known).

        ``owns_key``: this send's answer is the call's answer, so a background reconciliation
        completes the idempotency key with it (not so for one close of close-all)."""
        self.sends += 1
        client_id = trades.new_client_id()
        prepared.request["comment"] = mt5_comment(client_id, user_comment)
        async with self._scope() as session:
            row = await trades.create(
                session,
                user_id=self.user_id,
                account_id=self.account_id,
                request=dict(prepared.request),
                idempotency_key=key,
                client_id=client_id,
            )
        probe = prepared.probe or ByClientId(client_id, prepared.symbol, prepared.server_now_s)
        sent = await sender.send(self.terminal, prepared.request, prepared.plan, probe)
        position = await _position_of(self.terminal, prepared, sent)
        status, body = result_body(prepared, sent, row.request_id, client_id, position)
        state = _state(sent)
        async with self._scope() as session:
            await trades.set_state(session, row, state, body)
        if sent.state == "unknown":
            self.finish_later(prepared, row.request_id, probe, key if owns_key else None)
        return status, body, sent.state != "unknown"

    # -- idempotency ---------------------------------------------------------------------------

    async def _claim(
        self, key: str | None, action: str, payload: dict[str, Any]
    ) -> IdempotencyKey | Answer | None:
        if key is None:
            return None
        fingerprint = idempotency.request_hash({"action": action, **payload})
        async with self._scope() as session:
            claim = await idempotency.begin(
                session, user_id=self.user_id, key=key, request_hash=fingerprint
            )
        if claim.outcome == Outcome.STARTED:
            return claim.record
        if claim.outcome == Outcome.COMPLETED:
            body = dict(claim.record.response_body or {})
            return int(claim.record.response_status or 200), {**body, "replayed": True}, True
        if claim.outcome == Outcome.MISMATCH:
            raise IdempotencyMismatch(
                "This Idempotency-Key was used for a different request; use a new key",
                extra={"rule": "idempotency_key"},
            )
        pending = await self._requests_of_key(key)
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still in progress (or its outcome is being "
            "reconciled); retry later with the same key",
            extra={"request_ids": pending},
        )

    async def _complete(self, claim: IdempotencyKey | None, status: int, body: Any) -> None:
        if claim is not None:
            async with self._scope() as session:
                await idempotency.complete(session, claim, status_code=status, body=body)

    async def _release(self, claim: IdempotencyKey | None) -> None:
        if claim is not None:
            async with self._scope() as session:
                await idempotency.release(session, claim)

    async def _requests_of_key(self, key: str) -> list[str]:
        async with self._scope() as session:
            stmt = select(TradeRequest.request_id).where(
                TradeRequest.user_id == self.user_id, TradeRequest.idempotency_key == key
            )
            return list((await session.scalars(stmt)).all())

    async def _audit(
        self, action: str, request: dict[str, Any], outcome: dict[str, Any], retcode: int | None
    ) -> None:
        async with self._scope() as session:
            await audit.append(
                session,
                user_id=self.user_id,
                action=action,
                account_id=self.account_id,
                request=request,
                outcome=outcome,
                retcode=retcode,
                ip=self.ip,
            )


def _state(sent: Sent) -> TradeState:
    return {
        "done": TradeState.DONE,
        "rejected": TradeState.FAILED,
        "not_executed": TradeState.FAILED,
        "unknown": TradeState.UNKNOWN,
    }[sent.state]


def _why(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, GatewayError):
        return exc.body()
    return {"detail": str(exc)}


async def _position_of(terminal: TerminalPort, prepared: Prepared, sent: Sent) -> int:
    """The position a deal opened or changed (netting may add to an existing one)."""
    if prepared.ticket:
        return prepared.ticket
    answer = sent.answer or {}
    if sent.state != "done" or not answer.get("deal"):
        return 0
    try:
        deals = await terminal.history_deals_get(ticket=int(answer["order"]))
    except TerminalError:
        return int(answer.get("order") or 0)
    return int(deals[0]["position_id"]) if deals else int(answer.get("order") or 0)
