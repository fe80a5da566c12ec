"""State-changing trading endpoints (thin: the logic is in prepare/desk/sender)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.accounts.context import AccountDep
from gateway.deps import CurrentUser, SessionDep
from gateway.errors import GatewayError, NotFound, from_terminal_error
from gateway.store import trades
from gateway.terminal.errors import TerminalError
from gateway.trading import manage as m
from gateway.trading import prepare as p
from gateway.trading import retcodes
from gateway.trading.deps import BasisDep, DeskDep, IdempotencyKey
from gateway.trading.errors import TradeError
from gateway.trading.results import Answer
from gateway.trading.schemas import (
    CheckBody,
    CheckResult,
    CloseAllBody,
    CloseAllResult,
    CloseByBody,
    OrderModifyBody,
    PendingBody,
    PositionStopsBody,
    TradeBody,
    TradeRequestState,
    TradeResult,
)
from gateway.validation import Deviation, RequestId, Volume
from gateway.validation import Ticket as TicketNumber

router = APIRouter(tags=["trading"])

Ticket = Annotated[TicketNumber, Path(description="Position or order ticket")]
TRADE_DOC: dict[int | str, dict[str, Any]] = {
    409: {"description": "Requote/price changed/market closed, or a duplicate in progress"},
    403: {"description": "Investor (read-only) account or trading disabled"},
    504: {"description": "OUTCOME_UNKNOWN: poll GET /api/v1/trades/requests/{request_id}"},
}


def _respond(answer: Answer) -> JSONResponse:
    status, body, _ = answer
    return JSONResponse(body, status_code=status)


def _payload(account_id: str, body: BaseModel | None = None, **more: Any) -> dict[str, Any]:
    data = body.model_dump(mode="json") if body is not None else {}
    return {"account_id": account_id, **data, **more}


@router.post("/trades", response_model=TradeResult, responses=TRADE_DOC)
async def open_trade(
    body: TradeBody, desk: DeskDep, ctx: AccountDep, key: IdempotencyKey = None
) -> Any:
    """Market order (seed contract: ``symbol``, ``order_type`` buy/sell, ``volume``, ...)."""

    async def work() -> Answer:
        prepared = await p.prepare_market(ctx.terminal, ctx.account, body)
        return await desk.send(prepared, body.comment, key)

    return _respond(await desk.call("trade.open", _payload(ctx.account.id, body), key, work))


@router.post("/orders", response_model=TradeResult, status_code=201, responses=TRADE_DOC)
async def place_order(
    body: PendingBody, desk: DeskDep, ctx: AccountDep, basis: BasisDep, key: IdempotencyKey = None
) -> Any:
    """Pending order: limit, stop or stop-limit, with GTC/day/specified expiration."""

    async def work() -> Answer:
        prepared = await p.prepare_pending(ctx.terminal, ctx.account, body, basis)
        return await desk.send(prepared, body.comment, key)

    return _respond(await desk.call("order.place", _payload(ctx.account.id, body), key, work))


async def _modify_position(
    ticket: int, body: PositionStopsBody, desk: DeskDep, ctx: AccountDep, key: str | None
) -> Any:
    async def work() -> Answer:
        prepared = await m.prepare_position_stops(ctx.terminal, ctx.account, ticket, body)
        return await desk.send(prepared, "", key)

    payload = _payload(ctx.account.id, body, ticket=ticket)
    return _respond(await desk.call("position.modify", payload, key, work))


@router.patch("/positions/{ticket}", response_model=TradeResult, responses=TRADE_DOC)
async def modify_position(
    ticket: Ticket,
    body: PositionStopsBody,
    desk: DeskDep,
    ctx: AccountDep,
    key: IdempotencyKey = None,
) -> Any:
    """Change a position's SL/TP (a field left out keeps its value; 0 removes it)."""
    return await _modify_position(ticket, body, desk, ctx, key)


@router.put("/positions/{ticket}", response_model=TradeResult, responses=TRADE_DOC)
async def put_position(
    ticket: Ticket,
    body: PositionStopsBody,
    desk: DeskDep,
    ctx: AccountDep,
    key: IdempotencyKey = None,
) -> Any:
    """Same as PATCH."""
    return await _modify_position(ticket, body, desk, ctx, key)


@router.delete("/positions/{ticket}", response_model=TradeResult, responses=TRADE_DOC)
async def close_position(
    ticket: Ticket,
    desk: DeskDep,
    ctx: AccountDep,
    volume: Annotated[Volume | None, Query(description="Partial close volume (lots)")] = None,
    deviation: Annotated[Deviation, Query(description="Accepted slippage in points")] = 20,
    key: IdempotencyKey = None,
) -> Any:
    """Close a position, or part of it (seed answer: success, ticket, volume, price)."""

    async def work() -> Answer:
        prepared = await m.prepare_close(ctx.terminal, ctx.account, ticket, volume, deviation)
        return await desk.send(prepared, "", key)

    payload = _payload(ctx.account.id, ticket=ticket, volume=volume, deviation=deviation)
    return _respond(await desk.call("position.close", payload, key, work))


@router.post("/positions/{ticket}/close-by", response_model=TradeResult, responses=TRADE_DOC)
async def close_by(
    ticket: Ticket, body: CloseByBody, desk: DeskDep, ctx: AccountDep, key: IdempotencyKey = None
) -> Any:
    """Close a position by an opposite one (hedging accounts)."""

    async def work() -> Answer:
        prepared = await m.prepare_close_by(ctx.terminal, ctx.account, ticket, body.opposite)
        return await desk.send(prepared, body.comment, key)

    payload = _payload(ctx.account.id, body, ticket=ticket)
    return _respond(await desk.call("position.close_by", payload, key, work))


@router.post("/positions/close-all", response_model=CloseAllResult, responses=TRADE_DOC)
async def close_all(
    body: CloseAllBody, desk: DeskDep, ctx: AccountDep, key: IdempotencyKey = None
) -> Any:
    """Close every position of the account, or of one symbol (207 when some failed)."""

    async def work() -> Answer:
        p.require_trader(ctx.account)
        rows = await ctx.terminal.positions_get(symbol=body.symbol)
        results: list[dict[str, Any]] = []
        for index, row in enumerate(rows):
            try:
                prepared = await m.prepare_close(
                    ctx.terminal, ctx.account, row["ticket"], None, body.deviation, pos=row
                )
            except GatewayError as exc:  # e.g. this symbol is disabled: report, go on
                results.append({"success": False, "ticket": row["ticket"], **exc.body()})
                continue
            except TerminalError as exc:  # the terminal is gone: the rest is not attempted
                error = from_terminal_error(exc).body()
                results += [
                    {"success": False, "ticket": r["ticket"], **error} for r in rows[index:]
                ]
                break
            try:
                _, result, _ = await desk.send(prepared, body.comment, key, owns_key=False)
            except GatewayError as exc:  # refused by the terminal itself: nothing was sent
                result = {"success": False, "ticket": row["ticket"], **exc.body()}
            results.append(result)
        closed = sum(1 for r in results if r["success"])
        status = 200 if closed == len(results) else 207
        out = {"success": closed == len(results), "closed": closed, "results": results}
        return status, out, True

    return _respond(
        await desk.call("position.close_all", _payload(ctx.account.id, body), key, work)
    )


@router.patch("/orders/{ticket}", response_model=TradeResult, responses=TRADE_DOC)
async def modify_order(
    ticket: Ticket,
    body: OrderModifyBody,
    desk: DeskDep,
    ctx: AccountDep,
    basis: BasisDep,
    key: IdempotencyKey = None,
) -> Any:
    """Change a pending order's price, stop-limit price, SL/TP or expiration."""

    async def work() -> Answer:
        prepared = await m.prepare_order_modify(ctx.terminal, ctx.account, ticket, body, basis)
        return await desk.send(prepared, "", key)

    payload = _payload(ctx.account.id, body, ticket=ticket)
    return _respond(await desk.call("order.modify", payload, key, work))


@router.delete("/orders/{ticket}", response_model=TradeResult, responses=TRADE_DOC)
async def cancel_order(
    ticket: Ticket, desk: DeskDep, ctx: AccountDep, key: IdempotencyKey = None
) -> Any:
    """Cancel a pending order."""

    async def work() -> Answer:
        prepared = await m.prepare_cancel(ctx.terminal, ctx.account, ticket)
        return await desk.send(prepared, "", key)

    payload = _payload(ctx.account.id, ticket=ticket)
    return _respond(await desk.call("order.cancel", payload, key, work))


@router.post("/trades/check", response_model=CheckResult)
async def check_trade(body: CheckBody, ctx: AccountDep) -> Any:
    """``order_check``: would the order pass, and the margin it needs. Nothing is sent."""
    prepared = await p.prepare_check(ctx.terminal, ctx.account, body)
    request = dict(prepared.request)
    if prepared.plan:
        request["type_filling"] = prepared.plan.policies[0]
    answer = await ctx.terminal.order_check(request)
    retcode = int(answer["retcode"])
    result = CheckResult(
        success=retcode == 0,
        retcode=retcode,
        retcode_name=retcodes.retcode_name(retcode),
        message=str(answer["comment"]),
        margin=answer["margin"],
        margin_free=answer["margin_free"],
        margin_level=answer["margin_level"],
        balance=answer["balance"],
        equity=answer["equity"],
        profit=answer["profit"],
        filling=prepared.plan.names()[0] if prepared.plan else None,
        volume=request["volume"],
        notes=prepared.notes,
    )
    if retcode != 0:
        rule = retcodes.rule_for(retcode)
        raise TradeError(
            f"order_check answered {retcode} {rule.name}: {answer['comment']}",
            code=rule.code,
            status=rule.status,
            retcode=retcode,
            extra={"result": result.model_dump(mode="json"), "retryable": rule.retryable},
        )
    return result


@router.get("/trades/requests/{request_id}", response_model=TradeRequestState)
async def trade_request(
    request_id: Annotated[RequestId, Path(description="request_id of a trade answer")],
    user: CurrentUser,
    session: SessionDep,
) -> TradeRequestState:
    """A trade request the gateway sent for you, with its state (unknown outcomes resolve here)."""
    row = await trades.get_for_user(session, user.id, request_id)
    if row is None or user.account_id not in (None, row.account_id):  # a bound key: its own only
        raise NotFound(f"Trade request {request_id} not found", code="TRADE_REQUEST_NOT_FOUND")
    return TradeRequestState(
        request_id=row.request_id,
        client_id=row.client_id,
        account_id=row.account_id,
        state=str(row.state),
        request=row.request,
        result=row.result,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
