"""Reading and writing the journal's tables. Inserts skip rows already there (by their unique
key), so repeated and concurrent syncs never duplicate; the cursor only moves forward."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.journal.models import JournalBalanceOp, JournalSync, JournalTrade
from gateway.store.models import utcnow


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


async def insert_new(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows``, skipping those whose unique key exists; the number inserted."""
    if not rows:
        return 0
    statement = _insert(session, model).values(list(rows)).on_conflict_do_nothing()
    result = await session.execute(statement.returning(model.id))
    return len(result.all())


async def state(session: AsyncSession, account_id: str) -> JournalSync:
    """The account's sync row, created on first use."""
    found = await session.get(JournalSync, account_id)
    if found is None:
        await session.execute(
            _insert(session, JournalSync)
            .values(account_id=account_id, cursor=0, auto_sync=False)
            .on_conflict_do_nothing()
        )
        found = await session.get(JournalSync, account_id)
        assert found is not None
    return found


async def advance(session: AsyncSession, account_id: str, cursor: int, error: str | None) -> None:
    """Move the cursor to ``cursor`` unless it is already further (never back)."""
    await state(session, account_id)
    await session.execute(
        update(JournalSync)
        .where(JournalSync.account_id == account_id)
        .values(
            cursor=func.max(JournalSync.cursor, cursor)
            if session.get_bind().dialect.name == "sqlite"
            else func.greatest(JournalSync.cursor, cursor),
            synced_at=utcnow(),
            last_error=error,
        )
    )


async def set_auto(session: AsyncSession, account_id: str, auto_sync: bool) -> JournalSync:
    row = await state(session, account_id)
    row.auto_sync = auto_sync
    return row


async def auto_accounts(session: AsyncSession) -> list[str]:
    result = await session.execute(
        select(JournalSync.account_id).where(JournalSync.auto_sync.is_(True))
    )
    return list(result.scalars())


@dataclass(frozen=True)
class TradeFilter:
    symbol: str | None = None
    side: str | None = None
    since: datetime | None = None  # close time, inclusive
    until: datetime | None = None  # close time, exclusive
    magic: int | None = None

    def apply(self, query: Select[Any], account_id: str) -> Select[Any]:
        t = JournalTrade
        query = query.where(t.account_id == account_id)
        if self.symbol is not None:
            query = query.where(t.symbol == self.symbol)
        if self.side is not None:
            query = query.where(t.side == self.side)
        if self.since is not None:
            query = query.where(t.close_time >= self.since)
        if self.until is not None:
            query = query.where(t.close_time < self.until)
        if self.magic is not None:
            query = query.where(t.magic == self.magic)
        return query


def encode_cursor(row: JournalTrade) -> str:
    raw = f"{row.close_time.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (close time, id) a page continues after; ValueError when it is not one of ours."""
    padded = cursor + "=" * (-len(cursor) % 4)
    when, _, row_id = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
    return datetime.fromisoformat(when), row_id


async def page(
    session: AsyncSession, account_id: str, where: TradeFilter, after: str | None, limit: int
) -> tuple[list[JournalTrade], str | None]:
    """Trades newest first; ``after`` is the previous page's ``next_cursor``."""
    t = JournalTrade
    query = where.apply(select(t), account_id)
    if after is not None:
        when, row_id = decode_cursor(after)
        query = query.where(or_(t.close_time < when, and_(t.close_time == when, t.id < row_id)))
    query = query.order_by(t.close_time.desc(), t.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


async def trades_for_stats(
    session: AsyncSession, account_id: str, where: TradeFilter
) -> list[JournalTrade]:
    query = where.apply(select(JournalTrade), account_id).order_by(JournalTrade.close_time)
    return list((await session.execute(query)).scalars())


async def balance_ops(
    session: AsyncSession, account_id: str, until: datetime | None
) -> list[JournalBalanceOp]:
    query = select(JournalBalanceOp).where(JournalBalanceOp.account_id == account_id)
    if until is not None:
        query = query.where(JournalBalanceOp.time < until)
    return list((await session.execute(query.order_by(JournalBalanceOp.time))).scalars())
