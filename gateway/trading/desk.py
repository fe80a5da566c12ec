"""The trading desk: idempotency, the trade-request ledger and the audit trail of one call.

For a state-changing call:

1. the request is prepared (checks and reads of the terminal; a refusal writes only its audit
   entry: nothing was claimed or sent);
2. each MT5 request gets a ``trade_requests`` row, committed *before* the send in one
   transaction with the claim of the call's ``Idempotency-Key`` (with the first send). A key
   already held answers instead: the stored result of a completed call (replay), 409 for one in
   progress, 422 for one used with another body. The row's client id starts the MT5 comment;
   only then does the request count as (possibly) sent, and it is sent (``sender.send``);
3. the results of the sends, the audit entry and the key's completion are committed together,
   in one transaction after the last send (no row or key is read again: the desk holds them);
4. an unknown outcome (the answer was lost and the look-up could not decide) answers 504
   ``OUTCOME_UNKNOWN`` and a background task keeps looking until it finds the order or proves
   it absent, then completes the key (``gateway.trading.ledger``).

A call with a key that fails before sending anything looks its key up before answering: the
retry of a completed call answers the stored result even when preparing it again fails (the
position it closed is gone). A call that sends nothing and succeeds (close-all with nothing
open) stores its answer under its key in the settling transaction.

So a trade costs two transactions, each one hop to the store (``gateway.db.transact``), with
or without a key. Once a request may have reached the terminal the call never answers 500: any
unexpected failure after that point (the gateway's own, or the store's) answers 504
``OUTCOME_UNKNOWN`` with the request ids to poll, the audit entry is still written, and
background reconciliation settles what the call could not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayError, from_terminal_error
from gateway.store import audit, idempotency, trades
from gateway.store.idempotency import Claim, Outcome
from gateway.store.models import TradeState, new_id
from gateway.store.transact import Tx, transact
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


class _KeyHeld(Exception):
    """The call's ``Idempotency-Key`` is held already: the call answers from that claim."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("idempotency key held")
        self.claim = claim


@dataclass(kw_only=True)
class Desk(Ledger):
    """One state-changing call on the caller's account (see the module docstring)."""

    terminal: TerminalPort
    sent: list[_Send] = field(default_factory=list)  # requests that may have reached MT5
    key: str | None = None  # the call's Idempotency-Key
    fingerprint: str = ""  # of the call's action and payload, stored with the key
    claimed: bool = False  # the key is this call's (claimed with the first send)

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
        self.key = key
        if key is not None:
            self.fingerprint = idempotency.request_hash({"action": action, **payload})
        try:
            answer = await work()
        except _KeyHeld as held:
            return await self._held_answer(held.claim)
        except Exception as exc:
            if key is not None and not self.claimed:
                holder = await self._holder()
                if holder is not None:
                    return await self._held_answer(holder)
            error = await self._failed(exc, action, payload)
            if error is exc:
                raise
            raise error from exc
        except BaseException:  # cancelled: what may have been sent is settled in the background
            if not self.sent:
                await self._settle(action, payload, {"refused": "cancelled"}, None)
            self._reconcile(everything=True)
            raise
        status, body, final = answer
        retcode = body.get("retcode") if isinstance(body.get("retcode"), int) else None
        try:
            holder = await self._settle(
                action,
                payload,
                {"status": status, **body},
                retcode,
                complete=(status, body) if final else None,
            )
        except Exception as exc:
            raise await self._unknown(exc, action, payload) from exc
        if holder is not None:  # sent nothing, and the key had an answer already: that one
            return await self._held_answer(holder)
        self._reconcile()
        return answer

    async def send(
        self, prepared: Prepared, user_comment: str, key: str | None, *, owns_key: bool = True
    ) -> Answer:
        """One MT5 request with its ledger row; (status, normalized body, outcome known).

        ``owns_key``: this send's answer is the call's answer, so a background reconciliation
        completes the idempotency key with it (not so for one close of close-all)."""
        client_id = trades.new_client_id()
        prepared.request["comment"] = mt5_comment(client_id, user_comment)
        row = RowRef(new_id(), client_id)
        claim = self.key if self.key is not None and not self.claimed else None
        user_id, account_id, fingerprint = self.user_id, self.account_id, self.fingerprint
        request = dict(prepared.request)

        def before_send(tx: Tx) -> bool:
            return trades.insert_claiming(
                tx,
                request_id=row.request_id,
                user_id=user_id,
                account_id=account_id,
                client_id=client_id,
                request=request,
                idempotency_key=key,
                claim_hash=fingerprint if claim is not None else None,
            )

        await self._insert_before_send(before_send, claim)
        self.claimed = self.claimed or claim is not None
        probe = prepared.probe or ByClientId(client_id, prepared.symbol, prepared.server_now_s)
        entry = _Send(row, prepared, probe, owns_key)
        self.sent.append(entry)  # from here on the request may reach the broker
        try:
            sent = await sender.send(self.terminal, prepared.request, prepared.plan, probe)
        except TradeError as exc:  # the terminal refused it locally: the broker saw nothing
            entry.settle(TradeState.FAILED, exc.status, exc.body())
            raise
        position = await position_of(self.terminal, prepared, sent, self.account_id)
        status, body = result_body(prepared, sent, row.request_id, client_id, position)
        entry.settle(state_of(sent), status, body)
        return status, body, sent.state != "unknown"

    async def _insert_before_send(self, insert: Callable[[Tx], bool], claim: str | None) -> None:
        """The row (and the claim of ``claim``) committed; a key held raises ``_KeyHeld``."""
        for _ in range(3):  # a held key that turns out expired is gone: claim it again
            if await transact(self.sessions, insert, one_statement=True):
                return
            holder = await self._holder()
            if holder is not None:
                raise _KeyHeld(holder)
        raise RuntimeError(f"the Idempotency-Key {claim!r} could not be claimed")

    # -- failures ------------------------------------------------------------------------------

    async def _failed(self, exc: Exception, action: str, payload: dict[str, Any]) -> Exception:
        """The exception the call answers with, once the ledger knows what happened."""
        if any(entry.state is None for entry in self.sent):
            return await self._unknown(exc, action, payload)
        if isinstance(exc, GatewayError | TerminalError):
            error = exc if isinstance(exc, GatewayError) else from_terminal_error(exc)
            outcome = {"refused": type(exc).__name__, **error.body()}
            if not self.sent:  # refused before anything was sent: no key was claimed
                await self._settle(action, payload, outcome, None)
                return error
            try:  # what was sent is settled: the error is the call's answer
                complete = (error.status, error.body())
                await self._settle(action, payload, outcome, None, complete=complete)
            except Exception as store_exc:
                return await self._unknown(store_exc, action, payload)
            return error
        if self.sent:  # a failure after sends whose results are known, e.g. between two sends
            return await self._unknown(exc, action, payload)
        log.error("trade call %s failed before sending: %s", action, type(exc).__name__)
        await self._settle(action, payload, {"refused": type(exc).__name__}, None)
        return exc

    async def _unknown(
        self, exc: Exception, action: str, payload: dict[str, Any]
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
            await self._settle(action, payload, outcome, None, complete=complete)
        except Exception as store_exc:  # the store itself fails: keep at least the audit entry
            log.error("trade ledger of %s not settled: %s", action, type(store_exc).__name__)
            await self._audit_alone(action, payload, outcome)
            self._reconcile(everything=True)
            return error
        self._reconcile()
        return error

    def _single(self) -> _Send | None:
        """The call's one send when its answer is the call's answer."""
        if len(self.sent) == 1 and self.sent[0].owns_key:
            return self.sent[0]
        return None

    def _reconcile(self, *, everything: bool = False) -> None:
        """Look in the background for the sends whose outcome is unknown (``everything``: the
        ledger could not record any outcome of this call)."""
        owner = self.key if self.claimed and self._single() is not None else None
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
        complete: tuple[int, Any] | None = None,
    ) -> Claim | None:
        """One transaction: the results of the sends, the key's answer (``complete``) and the
        audit entry. A key this call never claimed (it sent nothing) gets ``complete`` stored
        if it is still free; if it is not, nothing is written and its holder is returned."""
        settled = [(e.row.request_id, e.state, e.result) for e in self.sent if e.state is not None]
        entry = self._audit_values(action, payload, outcome, retcode)
        user_id, key, claimed, fingerprint = self.user_id, self.key, self.claimed, self.fingerprint
        completion = None
        if key is not None and complete is not None and claimed:
            completion = (user_id, key, complete[0], complete[1])
        store = key is not None and complete is not None and not claimed and not settled

        def settle(tx: Tx) -> Claim | None:
            if store and key is not None and complete is not None:  # sent nothing: keep the answer
                holder = idempotency.store_row(
                    tx,
                    user_id=user_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=complete[0],
                    body=complete[1],
                )
                if holder is not None:
                    return holder
            trades.settle_with_audit(tx, settled, completion, entry)
            return None

        single = not store and len(settled) <= 1 and all(r is not None for _, _, r in settled)
        return await transact(self.sessions, settle, one_statement=single)

    async def _audit_alone(
        self, action: str, payload: dict[str, Any], outcome: dict[str, Any]
    ) -> None:
        entry = self._audit_values(action, payload, outcome, None)
        try:
            await transact(self.sessions, lambda tx: audit.insert_row(tx, entry))
        except Exception as exc:
            log.error("audit entry of %s not written: %s", action, type(exc).__name__)

    def _audit_values(
        self,
        action: str,
        request: dict[str, Any],
        outcome: dict[str, Any],
        retcode: int | None,
    ) -> dict[str, Any]:
        return audit.entry_values(
            user_id=self.user_id,
            action=action,
            account_id=self.account_id,
            request=request,
            outcome=outcome,
            retcode=retcode,
            ip=self.ip,
        )

    # -- idempotency ---------------------------------------------------------------------------

    async def _holder(self) -> Claim | None:
        """What holds the call's key, if anything (read when the call failed before sending)."""
        key, user_id, fingerprint = self.key, self.user_id, self.fingerprint
        if key is None:
            return None
        return await transact(
            self.sessions,
            lambda tx: idempotency.held_row(tx, user_id=user_id, key=key, request_hash=fingerprint),
        )

    async def _held_answer(self, claim: Claim) -> Answer:
        """The answer of a call whose key is held: a replay, or 422 / 409."""
        if claim.outcome == Outcome.COMPLETED:
            body = dict(claim.record.response_body or {})
            return int(claim.record.response_status or 200), {**body, "replayed": True}, True
        if claim.outcome == Outcome.MISMATCH:
            raise IdempotencyMismatch(
                "This Idempotency-Key was used for a different request; use a new key",
                extra={"rule": "idempotency_key"},
            )
        pending = await self._requests_of_key(claim.record.key)
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still in progress (or its outcome is being "
            "reconciled); retry later with the same key",
            extra={"request_ids": pending},
        )

    async def _requests_of_key(self, key: str) -> list[str]:
        user_id = self.user_id
        return await transact(self.sessions, lambda tx: trades.ids_of_key(tx, user_id, key))
