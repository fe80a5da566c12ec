"""Journal answers: sync results (seed 001's synced/skipped/errors), trades, statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.journal.stats import Stats


class DealError(BaseModel):
    deal: int
    position: int
    reason: str


class SyncAnswer(BaseModel):
    synced: int = Field(description="Trades added to the journal")
    skipped: int = Field(description="Trades found that were already in the journal")
    errors: list[DealError] = Field(description="Deals that could not be made into trades")
    balance_ops: int = Field(description="Balance operations added (deposits, withdrawals, …)")
    cursor: int = Field(description="Newest deal time synced, broker server clock, epoch s")


class SyncSettings(BaseModel):
    auto_sync: bool = Field(description="Sync this account in the background")


class SyncStatus(BaseModel):
    account_id: str
    cursor: int
    synced_at: datetime | None
    auto_sync: bool
    last_error: str | None


class JournalTradeOut(BaseModel):
    id: str = Field(description="Stable id: mt5_{position}_{closing deal}")
    position_id: int
    close_deal: int
    symbol: str
    side: Literal["buy", "sell"]
    volume: float
    open_time: datetime
    close_time: datetime
    open_price: float
    close_price: float
    profit: float
    commission: float
    swap: float
    fee: float
    net: float = Field(description="profit + commission + swap + fee")
    magic: int
    comment: str
    reason: str = Field(description="Why it closed: client, mobile, web, expert, sl, tp, so, …")


class TradesPage(BaseModel):
    trades: list[JournalTradeOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page")


class StatsGroup(Stats):
    key: str


class StatsAnswer(BaseModel):
    account_id: str
    overall: Stats
    groups: list[StatsGroup] = Field(description="Per symbol, month or magic when group_by is set")
