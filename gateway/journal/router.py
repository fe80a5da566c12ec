"""The journal: POST/GET/PUT /api/v1/accounts/{account_id}/sync, GET …/trades (JSON pages or
CSV with ``Accept: text/csv``) and GET …/stats. Trades and statistics are served from the store,
so they answer while terminals are busy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from gateway.accounts.context import ACCOUNT_ID_PATTERN
from gateway.accounts.opener import OpenerDep, OwnAccount
from gateway.deps import SYMBOL_PATTERN, ClocksDep, SessionDep
from gateway.errors import ValidationFailed
from gateway.journal import service, store
from gateway.journal.models import JournalSync
from gateway.journal.schemas import (
    DealError,
    StatsAnswer,
    SyncAnswer,
    SyncSettings,
    SyncStatus,
    TradesPage,
)
from gateway.journal.store import TradeFilter
from gateway.journal.sync import sync
from gateway.timeparams import parse_time

router = APIRouter(prefix="/accounts", tags=["journal"])

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="Your account's id")]
When = Annotated[str | None, Query(description="ISO-8601 or epoch seconds (UTC), close time")]
MAX_PAGE = 1000


def _status(account_id: str, row: JournalSync) -> SyncStatus:
    return SyncStatus(
        account_id=account_id,
        cursor=row.cursor,
        synced_at=row.synced_at,
        auto_sync=row.auto_sync,
        last_error=row.last_error,
    )


def _filter(
    since: str | None,
    until: str | None,
    symbol: str | None = None,
    side: str | None = None,
    magic: int | None = None,
) -> TradeFilter:
    start = datetime.fromtimestamp(parse_time(since, "from"), UTC) if since else None
    end = datetime.fromtimestamp(parse_time(until, "to"), UTC) if until else None
    if start is not None and end is not None and start > end:
        raise ValidationFailed("from must not be after to")
    return TradeFilter(symbol=symbol, side=side, since=start, until=end, magic=magic)


@router.post("/{account_id}/sync")
async def run_sync(
    request: Request, account_id: AccountId, opener: OpenerDep, clocks: ClocksDep
) -> SyncAnswer:
    """Pull the deals closed since the last sync into the journal (seed 001's sync): trades
    by their stable id, never twice; the answer counts what was added and skipped."""
    async with opener.open(account_id) as ctx:
        done = await sync(request.state.sessionmaker, ctx.terminal, clocks, ctx.account.id)
    return SyncAnswer(
        synced=done.synced,
        skipped=done.skipped,
        errors=[DealError(**err) for err in done.errors],
        balance_ops=done.balance_ops,
        cursor=done.cursor,
    )


@router.get("/{account_id}/sync")
async def sync_status(
    own: OwnAccount,
    session: SessionDep,
) -> SyncStatus:
    """Where the journal's sync stands for this account."""
    return _status(own, await store.state(session, own))


@router.put("/{account_id}/sync")
async def sync_settings(own: OwnAccount, body: SyncSettings, session: SessionDep) -> SyncStatus:
    """Turn background sync on or off for this account."""
    return _status(own, await store.set_auto(session, own, body.auto_sync))


@router.get("/{account_id}/trades", response_model=TradesPage)
async def trades(
    own: OwnAccount,
    session: SessionDep,
    symbol: Annotated[str | None, Query(pattern=SYMBOL_PATTERN)] = None,
    side: Literal["buy", "sell"] | None = None,
    since: Annotated[
        str | None, Query(alias="from", description="Closed at or after (UTC)")
    ] = None,
    until: Annotated[str | None, Query(alias="to", description="Closed before (UTC)")] = None,
    magic: Annotated[int | None, Query(ge=0, le=2**64 - 1)] = None,
    cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    accept: Annotated[str | None, Header()] = None,
) -> TradesPage | Response:
    """Closed trades, newest first, from the store; ``Accept: text/csv`` for a CSV page (the
    next page's cursor is then in the ``X-Next-Cursor`` header)."""
    where = _filter(since, until, symbol, side, magic)
    try:
        rows, next_cursor = await store.page(session, own, where, cursor, limit)
    except ValueError:
        raise ValidationFailed("cursor: not a cursor this endpoint gave") from None
    page = [service.trade_out(r) for r in rows]
    if accept is not None and "text/csv" in accept:
        headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
        return Response(service.as_csv(page), media_type="text/csv", headers=headers)
    return TradesPage(trades=page, next_cursor=next_cursor)


@router.get("/{account_id}/stats")
async def stats(
    own: OwnAccount,
    session: SessionDep,
    since: Annotated[
        str | None, Query(alias="from", description="Closed at or after (UTC)")
    ] = None,
    until: Annotated[str | None, Query(alias="to", description="Closed before (UTC)")] = None,
    group_by: Literal["symbol", "month", "magic"] | None = None,
) -> StatsAnswer:
    """Win rate, profit factor, expectancy, streaks, drawdown (of the balance curve, balance
    operations included) and holding time, from the synced journal."""
    return await service.statistics(session, own, _filter(since, until), group_by)
