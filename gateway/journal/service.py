"""The journal's reads: trades pages, CSV, and statistics grouped as asked."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.journal import stats as figures
from gateway.journal import store
from gateway.journal.models import JournalTrade, magic_out
from gateway.journal.schemas import JournalTradeOut, StatsAnswer, StatsGroup
from gateway.journal.store import TradeFilter

CSV_FIELDS = list(JournalTradeOut.model_fields)


def trade_out(row: JournalTrade) -> JournalTradeOut:
    return JournalTradeOut(
        id=row.external_id,
        position_id=row.position_id,
        close_deal=row.close_deal,
        symbol=row.symbol,
        side=row.side,  # type: ignore[arg-type]  # stored from roundtrips: "buy" or "sell"
        volume=row.volume,
        open_time=row.open_time,
        close_time=row.close_time,
        open_price=row.open_price,
        close_price=row.close_price,
        profit=row.profit,
        commission=row.commission,
        swap=row.swap,
        fee=row.fee,
        net=row.net,
        magic=magic_out(row.magic),
        comment=row.comment,
        reason=row.reason,
    )


def as_csv(trades: Sequence[JournalTradeOut]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for trade in trades:
        writer.writerow(trade.model_dump(mode="json"))
    return out.getvalue()


def _figures(rows: Sequence[JournalTrade]) -> list[figures.TradeFigures]:
    return [
        figures.TradeFigures(int(r.close_time.timestamp()), int(r.open_time.timestamp()), r.net)
        for r in rows
    ]


GROUPS: dict[str, Callable[[JournalTrade], str]] = {
    "symbol": lambda r: r.symbol,
    "month": lambda r: r.close_time.astimezone(UTC).strftime("%Y-%m"),
    "magic": lambda r: str(magic_out(r.magic)),
}


async def _opening_level(session: AsyncSession, account_id: str, since: datetime) -> float:
    """The balance curve's level at ``since``: all trades' nets closed before it (balance
    operations before it are added as steps by the caller)."""
    t = JournalTrade
    net = t.profit + t.commission + t.swap + t.fee
    query = select(func.coalesce(func.sum(net), 0.0)).where(
        t.account_id == account_id, t.close_time < since
    )
    return float((await session.execute(query)).scalar_one())


async def statistics(
    session: AsyncSession, account_id: str, where: TradeFilter, group_by: str | None
) -> StatsAnswer:
    rows = await store.trades_for_stats(session, account_id, where)
    ops = await store.balance_ops(session, account_id, where.until)
    steps = [(int(op.time.timestamp()), op.amount) for op in ops]
    if where.since is not None:
        start = int(where.since.timestamp())
        before = sum(a for t, a in steps if t < start)
        before += await _opening_level(session, account_id, where.since)
        steps = [(start, before), *((t, a) for t, a in steps if t >= start)]
    overall = figures.compute(_figures(rows), steps)
    groups: list[StatsGroup] = []
    if group_by is not None:
        buckets: dict[str, list[JournalTrade]] = defaultdict(list)
        for row in rows:
            buckets[GROUPS[group_by](row)].append(row)
        for key in sorted(buckets):
            part = figures.compute(_figures(buckets[key]))
            groups.append(StatsGroup(key=key, **part.model_dump()))
    return StatsAnswer(account_id=account_id, overall=overall, groups=groups)
