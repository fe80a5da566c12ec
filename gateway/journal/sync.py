"""Journal sync: the deals closed since the account's cursor become trades and balance operations.

One sync costs two terminal round trips, whatever the history's size: the deals since the cursor,
then (batched) every deal of each position those deals close, since a trade's open side may be
older than the cursor. The rows and the cursor's move are written in one transaction, so a sync
cut short by a restart leaves nothing half-done, and the next one starts from the same cursor.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db import session_scope
from gateway.journal import roundtrips, store
from gateway.journal.models import JournalBalanceOp, JournalTrade, magic_in
from gateway.terminal.port import Call, Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis
from gateway.timeparams import mt5_date

BATCH = 16  # positions looked up per round trip (well under the terminal server's batch cap)
_FUTURE_S = 86400  # range end ahead of any server clock


@dataclass
class SyncResult:
    synced: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    balance_ops: int = 0
    cursor: int = 0


def _utc(basis: TimeBasis, server_s: int) -> datetime:
    return datetime.fromtimestamp(basis.to_utc(server_s), UTC)


def _trade_row(account_id: str, trade: roundtrips.Trade, basis: TimeBasis) -> dict[str, Any]:
    row = asdict(trade)  # every field of a Trade is a column
    row.update(
        account_id=account_id,
        open_time=_utc(basis, trade.open_time),
        close_time=_utc(basis, trade.close_time),
        magic=magic_in(trade.magic),
        comment=trade.comment[:64],
    )
    return row


def _op_row(account_id: str, op: roundtrips.BalanceOp, basis: TimeBasis) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "deal": op.deal,
        "time": _utc(basis, op.time),
        "kind": op.kind,
        "amount": op.amount,
        "comment": op.comment[:64],
    }


async def _position_deals(terminal: TerminalPort, positions: list[int]) -> dict[int, list[Record]]:
    found: dict[int, list[Record]] = {}
    for start in range(0, len(positions), BATCH):
        chunk = positions[start : start + BATCH]
        calls: list[Call] = [("history_deals_get", (), {"position": p}) for p in chunk]
        for position, deals in zip(chunk, await terminal.batch(calls), strict=True):
            found[position] = list(deals or [])
    return found


async def sync(
    maker: async_sessionmaker[AsyncSession],
    terminal: TerminalPort,
    clocks: ServerClocks,
    account_id: str,
) -> SyncResult:
    async with session_scope(maker) as session:
        cursor = (await store.state(session, account_id)).cursor
    basis = await clocks.basis(terminal)
    now_server = basis.to_server(int(time.time())) + _FUTURE_S
    new = await terminal.history_deals_get(cursor, mt5_date(now_server))
    new_tickets = {int(d["ticket"]) for d in new}
    closing = roundtrips.closing_positions(new)
    result = SyncResult(cursor=max([cursor, *(int(d["time"]) for d in new)]))
    trades: list[dict[str, Any]] = []
    for position, deals in (await _position_deals(terminal, closing)).items():
        made = roundtrips.position_trades(position, deals)
        result.errors += [err for err in made.errors if err["deal"] in new_tickets]
        trades += [
            _trade_row(account_id, t, basis) for t in made.trades if t.close_deal in new_tickets
        ]
    ops = [_op_row(account_id, op, basis) for op in roundtrips.balance_ops(new)]
    async with session_scope(maker) as session:
        result.synced = await store.insert_new(session, JournalTrade, trades)
        result.skipped = len(trades) - result.synced
        result.balance_ops = await store.insert_new(session, JournalBalanceOp, ops)
        error = f"{len(result.errors)} deals could not be matched" if result.errors else None
        await store.advance(session, account_id, result.cursor, error)
    return result
