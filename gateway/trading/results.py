"""Normalized trade answers: one MT5 send → (HTTP status, body) through the retcode table."""

from __future__ import annotations

from typing import Any

from gateway import mt5enums as e
from gateway.trading import retcodes
from gateway.trading.prepare import Prepared
from gateway.trading.schemas import FillingAttempt, TradeResult
from gateway.trading.sender import Sent

Answer = tuple[int, dict[str, Any], bool]  # status, body, final (outcome known)


def _filling_name(code: int | None) -> str | None:
    return None if code is None else e.name(e.ORDER_FILLINGS, code)


def trade_result(
    prepared: Prepared, sent: Sent, request_id: str, client_id: str, position: int
) -> TradeResult:
    answer = sent.answer or {}
    request = prepared.request
    if sent.state == "unknown":
        rule, retcode = retcodes.OUTCOME_UNKNOWN, 0
    elif sent.state == "not_executed":
        rule, retcode = retcodes.NOT_EXECUTED, 0
    else:
        retcode = int(answer.get("retcode", 0))
        rule = retcodes.rule_for(retcode)
    order = int(answer.get("order") or 0)
    done = sent.state == "done"
    if prepared.placed_order:
        ticket = order
    elif prepared.ticket:
        ticket = prepared.ticket
    else:
        ticket = position or (order if done else 0)
    message = str(answer.get("comment") or rule.meaning)
    if sent.state == "unknown":
        message = f"outcome unknown ({sent.error}); reconciliation continues in the background"
    return TradeResult(
        success=done,
        ticket=ticket,
        price=float(answer.get("price") or 0.0) or float(request.get("price") or 0.0),
        volume=float(answer.get("volume") or 0.0) if done else float(request["volume"]),
        symbol=prepared.symbol,
        type=prepared.kind,
        retcode=retcode,
        retcode_name=rule.name,
        message=message,
        order=order,
        deal=int(answer.get("deal") or 0),
        position=position,
        filling=_filling_name(sent.filling),
        filling_attempts=[
            FillingAttempt(filling=_filling_name(f) or "", retcode=rc) for f, rc in sent.attempts
        ],
        request_id=request_id,
        mt5_request_id=int(answer.get("request_id") or 0),
        client_id=client_id,
        state=sent.state,
        reconciled=sent.reconciled,
        notes=list(prepared.notes),
    )


def result_body(
    prepared: Prepared, sent: Sent, request_id: str, client_id: str, position: int
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of one send (errors carry ``detail`` and ``code`` too)."""
    result = trade_result(prepared, sent, request_id, client_id, position)
    body = result.model_dump(mode="json")
    if sent.state == "done":
        return retcodes.http_status(result.retcode, placed_order=prepared.placed_order), body
    if sent.state == "unknown":
        rule = retcodes.OUTCOME_UNKNOWN
    elif sent.state == "not_executed":
        rule = retcodes.NOT_EXECUTED
    else:
        rule = retcodes.rule_for(result.retcode)
    detail = f"MT5 answered {result.retcode} {result.retcode_name}: {result.message}"
    if sent.state != "rejected":
        detail = result.message if sent.state == "unknown" else rule.meaning
    extra = {"detail": detail, "code": rule.code, "retryable": rule.retryable}
    return rule.status, {**body, **extra}
