"""The journal's tables (migration 0007).

- ``journal_trades``: one row per closing of a position (``roundtrips.Trade``), unique per
  account by its external id ``mt5_{position}_{deal}``: a repeated or concurrent sync inserts
  nothing twice.
- ``journal_balance_ops``: deposits, withdrawals, credit and the other non-trade deals, unique
  per account by deal ticket.
- ``journal_sync``: per account, the newest deal time already synced (server clock, the form
  MT5's history filter takes; it only ever moves forward), when it ran, and whether the account
  is synced in the background.

Times are UTC. ``account_id`` is the store's account id, or ``default`` for the configured
single-tenant account (no foreign key, as for ``trade_requests``). MT5 magic numbers are
unsigned 64-bit; they are kept as signed 64-bit integers with the same bits (see ``magic``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.store.models import UTCDateTime, new_id, utcnow

_U64 = 1 << 64


def magic_in(value: int) -> int:
    """MT5's unsigned magic as the signed 64-bit integer with the same bits."""
    return value - _U64 if value >= 1 << 63 else value


def magic_out(value: int) -> int:
    return value + _U64 if value < 0 else value


class JournalTrade(Base):
    __tablename__ = "journal_trades"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        Index("ix_journal_trades_account_close", "account_id", "close_time", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    position_id: Mapped[int] = mapped_column(BigInteger)
    close_deal: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    volume: Mapped[float] = mapped_column(Float)
    open_time: Mapped[datetime] = mapped_column(UTCDateTime)
    close_time: Mapped[datetime] = mapped_column(UTCDateTime)
    open_price: Mapped[float] = mapped_column(Float)
    close_price: Mapped[float] = mapped_column(Float)
    profit: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    swap: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float)
    magic: Mapped[int] = mapped_column(BigInteger)
    comment: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(24))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def net(self) -> float:
        return self.profit + self.commission + self.swap + self.fee


class JournalBalanceOp(Base):
    __tablename__ = "journal_balance_ops"
    __table_args__ = (
        UniqueConstraint("account_id", "deal"),
        Index("ix_journal_balance_ops_account_time", "account_id", "time"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(64))
    deal: Mapped[int] = mapped_column(BigInteger)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(String(64))


class JournalSync(Base):
    __tablename__ = "journal_sync"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    auto_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
