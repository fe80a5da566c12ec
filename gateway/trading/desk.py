"""The trading desk: idempotency, the trade-request ledger and the audit trail of one call.

For a state-changing call:

1. the ``Idempotency-Key`` is claimed in its own committed transaction (a replay answers the
   stored result; same key, other body → 422; a concurrent duplicate → 409);
2. the request is prepared (checks; a refusal releases the key: nothing was sent);
3. each MT5 request gets a ``trade_requests`` row, committed *before* the send, whose client id
   starts the MT5 comment; only then does it count as (possibly) sent, and it is sent
   (``sender.send``);
4. the results of the sends, the audit entry and the key's completion are committed together,
   in one transaction after the last send (no row or key is read again: the desk holds them);
5. an unknown outcome (the answer was lost and the look-up could not decide) answers 504
   ``OUTCOME_UNKNOWN`` and a background task keeps looking until it finds the order or proves
   it absent, then completes the key (``gateway.trading.ledger``).

Once a request may have reached the terminal the call never answers 500: any unexpected
failure after that point (the gateway's own, or the store's) answers 504 ``OUTCOME_UNKNOWN``
with the request ids to poll, the audit entry is still written, and background reconciliation
settles what the call could not. A failure before anything was sent frees the key.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import GatewayError, from_terminal_error
from gateway.store import audit, idempotency, trades
from gateway.store.idempotency import Outcome
from gateway.store.models import TradeRequest, TradeState
from gateway.terminal.errors import TerminalError
from gateway.terminal.port import TerminalPort
from gateway.trading import retcodes, sender
from gateway.trading.errors import IdempotencyConflict, IdempotencyMismatch, TradeError
from gateway.trading.ledger import (
    Ledger,
    Reconciliations,
    Reopen,
    RowRef,
    position_of,
    state_of,
)
from gateway.trading.prepare import Prepared
from gateway.trading.reconcile import ByClientId, Probe
from gateway.trading.results import Answer, result_body
from gateway.validation import MT5_COMMENT_UNITS, cut_utf16

__all__ = ["Desk", "Ledger", "OutcomeUnknown", "Reconciliations", "Reopen", "mt5_comment"]

log = logging.getLogger("gateway.trading")


def mt5_comment(client_id: str, user_comment: str) -> str:
    """The client id, then as much of the caller's comment as MT5 keeps (29 UTF-16 units)."""
    return cut_utf16(f"{client_id} {user_comment.strip()}".strip(), MT5_COMMENT_UNITS).rstrip()


class OutcomeUnknown(TradeError):
    """Something may have been sent, then the call failed: poll the request ids."""

    status, code = 504, retcodes.OUTCOME_UNKNOWN.code


@dataclass
class _Send:
    """One MT5 request of this call: its ledger row, and its result once known."""

    row: RowRef
    prepared: Prepared
    probe: Probe
    owns_key: bool
    state: TradeState | None = None  # None: sent, but the call failed before it was settled
    status: int = 0
    result: dict[str, Any] | None = None

    def settle(self, state: TradeState, status: int, result: dict[str, Any]) -> None:
        self.state, self.status, self.result = state, status, result


@dataclass(kw_only=True)
class Desk(Ledger):
    """One state-changing call on the caller's account (see the module docstring)."""

    terminal: TerminalPort
    sent: list[_Send] = field(default_factory=list)  # requests that may have reached MT5

    @property
    def sends(self) -> int:
        return len(self.sent)

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
        except Exception as exc:
            error = await self._failed(exc, claim, action, payload)
            if error is exc:
                raise
            raise error from exc
        except BaseException:  # cancelled: what may have been sent is settled in the background
            if not self.sent:
                await self._settle(action, payload, {"refused": "cancelled"}, None, release=claim)
            self._reconcile(claim, everything=True)
            raise
        status, body, final = answer
        retcode = body.get("retcode") if isinstance(body.get("retcode"), int) else None
        try:
            await self._settle(
                action,
                payload,
                {"status": status, **body},
                retcode,
                complete=(status, body) if final else None,
                key=claim,
            )
        except Exception as exc:
            raise await self._unknown(exc, claim, action, payload) from exc
        self._reconcile(claim)
        return answer

    async def send(
        self, prepared: Prepared, user_comment: str, key: str | None, *, owns_key: bool = True
    ) -> Answer:
        """One MT5 request with its ledger row; (status, normalized body, outcome known).

        ``owns_key``: this send's answer is the call's answer, so a background reconciliation
        completes the idempotency key with it (not so for one close of close-all)."""
        client_id = trades.new_client_id()
        prepared.request["comment"] = mt5_comment(client_id, user_comment)
        async with self._scope() as session:
            created = await trades.create(
                session,
                user_id=self.user_id,
                account_id=self.account_id,
                request=dict(prepared.request),
                idempotency_key=key,
                client_id=client_id,
            )
            row = RowRef(created.request_id, client_id)
        probe = prepared.probe or ByClientId(client_id, prepared.symbol, prepared.server_now_s)
        entry = _Send(row, prepared, probe, owns_key)
        self.sent.append(entry)  # from here on the request may reach the broker
        try:
            sent = await sender.send(self.terminal, prepared.request, prepared.plan, probe)
        except TradeError as exc:  # the terminal refused it locally: the broker saw nothing
            entry.settle(TradeState.FAILED, exc.status, exc.body())
            raise
        position = await position_of(self.terminal, prepared, sent)
        status, body = result_body(prepared, sent, row.request_id, client_id, position)
        entry.settle(state_of(sent), status, body)
        return status, body, sent.state != "unknown"

    # -- failures ------------------------------------------------------------------------------

    async def _failed(
        self, exc: Exception, claim: str | None, action: str, payload: dict[str, Any]
    ) -> Exception:
        """The exception the call answers with, once the ledger knows what happened."""
        if any(entry.state is None for entry in self.sent):
            return await self._unknown(exc, claim, action, payload)
        if isinstance(exc, GatewayError | TerminalError):
            error = exc if isinstance(exc, GatewayError) else from_terminal_error(exc)
            outcome = {"refused": type(exc).__name__, **error.body()}
            if not self.sent:  # refused before anything was sent: the key is free again
                await self._settle(action, payload, outcome, None, release=claim)
                return error
            try:  # what was sent is settled: the error is the call's answer
                complete = (error.status, error.body())
                await self._settle(action, payload, outcome, None, complete=complete, key=claim)
            except Exception as store_exc:
                return await self._unknown(store_exc, claim, action, payload)
            return error
        if self.sent:  # a failure after sends whose results are known, e.g. between two sends
            return await self._unknown(exc, claim, action, payload)
        log.error("trade call %s failed before sending: %s", action, type(exc).__name__)
        await self._settle(action, payload, {"refused": type(exc).__name__}, None, release=claim)
        return exc

    async def _unknown(
        self, exc: Exception, claim: str | None, action: str, payload: dict[str, Any]
    ) -> OutcomeUnknown:
        """After a send, the call failed (``exc``): answer 504 with the requests to poll."""
        log.error("trade call %s failed after sending: %s", action, type(exc).__name__)
        ids = [entry.row.request_id for entry in self.sent]
        error = OutcomeUnknown(
            f"The call failed after sending ({type(exc).__name__}); the outcome is being "
            "reconciled: poll GET /api/v1/trades/requests/{request_id}",
            extra={"request_id": ids[-1], "request_ids": ids, "state": "unknown"},
        )
        for entry in self.sent:
            if entry.state is None:
                entry.settle(TradeState.UNKNOWN, error.status, error.body())
        outcome = {"refused": type(exc).__name__, **error.body()}
        complete: tuple[int, Any] | None = (error.status, error.body())
        if self._single() is not None:  # the key gets this send's own answer
            entry = self.sent[0]
            known = entry.state != TradeState.UNKNOWN and entry.result is not None
            complete = (entry.status, entry.result) if known else None  # else: reconciliation
        try:
            await self._settle(action, payload, outcome, None, complete=complete, key=claim)
        except Exception as store_exc:  # the store itself fails: keep at least the audit entry
            log.error("trade ledger of %s not settled: %s", action, type(store_exc).__name__)
            await self._audit_alone(action, payload, outcome)
            self._reconcile(claim, everything=True)
            return error
        self._reconcile(claim)
        return error

    def _single(self) -> _Send | None:
        """The call's one send when its answer is the call's answer."""
        if len(self.sent) == 1 and self.sent[0].owns_key:
            return self.sent[0]
        return None

    def _reconcile(self, key: str | None, *, everything: bool = False) -> None:
        """Look in the background for the sends whose outcome is unknown (``everything``: the
        ledger could not record any outcome of this call)."""
        owner = key if self._single() is not None else None
        for entry in self.sent:
            if everything or entry.state == TradeState.UNKNOWN:
                self.finish_later(entry.prepared, entry.row, entry.probe, owner)

    # -- the ledger ----------------------------------------------------------------------------

    async def _settle(
        self,
        action: str,
        payload: dict[str, Any],
        outcome: dict[str, Any],
        retcode: int | None,
        *,
        key: str | None = None,
        complete: tuple[int, Any] | None = None,
        release: str | None = None,
    ) -> None:
        """One transaction: the results of the sends, the key's answer (``complete`` for
        ``key``) or its release, and the audit entry."""
        async with self._scope() as session:
            for entry in self.sent:
                if entry.state is not None:
                    await trades.settle(session, entry.row.request_id, entry.state, entry.result)
            if key is not None and complete is not None:
                status, body = complete
                await idempotency.complete_key(
                    session, user_id=self.user_id, key=key, status_code=status, body=body
                )
            if release is not None:
                await idempotency.release_key(session, user_id=self.user_id, key=release)
            await self._append_audit(session, action, payload, outcome, retcode)

    async def _audit_alone(
        self, action: str, payload: dict[str, Any], outcome: dict[str, Any]
    ) -> None:
        try:
            async with self._scope() as session:
                await self._append_audit(session, action, payload, outcome, None)
        except Exception as exc:
            log.error("audit entry of %s not written: %s", action, type(exc).__name__)

    async def _append_audit(
        self,
        session: AsyncSession,
        action: str,
        request: dict[str, Any],
        outcome: dict[str, Any],
        retcode: int | None,
    ) -> None:
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

    # -- idempotency ---------------------------------------------------------------------------

    async def _claim(
        self, key: str | None, action: str, payload: dict[str, Any]
    ) -> str | Answer | None:
        """The claimed key, or the stored answer of a completed one."""
        if key is None:
            return None
        fingerprint = idempotency.request_hash({"action": action, **payload})
        async with self._scope() as session:
            claim = await idempotency.begin(
                session, user_id=self.user_id, key=key, request_hash=fingerprint
            )
        if claim.outcome == Outcome.STARTED:
            return key
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

    async def _requests_of_key(self, key: str) -> list[str]:
        async with self._scope() as session:
            stmt = select(TradeRequest.request_id).where(
                TradeRequest.user_id == self.user_id, TradeRequest.idempotency_key == key
            )
            return list((await session.scalars(stmt)).all())
