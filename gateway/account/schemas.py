"""Account answers. Seed contract fields (login … company) keep their names and meaning."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas import TimeBasisFields
from gateway.trading.schemas import Order, Position


class AccountInfo(BaseModel):
    login: int
    balance: float
    equity: float
    margin: float
    free_margin: float
    margin_level: float = Field(description="Equity / margin in percent; 0 without margin")
    profit: float = Field(description="Floating profit of open positions")
    server: str
    currency: str
    leverage: int
    company: str
    name: str
    credit: float
    trade_mode: str = Field(description="demo | contest | real")
    margin_mode: str = Field(description="netting | exchange | hedging")
    trade_allowed: bool
    trade_expert: bool = Field(description="Whether the server allows algorithmic trading")
    limit_orders: int
    margin_so_mode: str = Field(description="percent | money")
    margin_so_call: float
    margin_so_so: float
    margin_initial: float
    margin_maintenance: float
    assets: float
    liabilities: float
    commission_blocked: float
    currency_digits: int
    fifo_close: bool


class Balance(BaseModel):
    login: int
    balance: float
    credit: float
    currency: str


class Equity(BaseModel):
    login: int
    equity: float
    balance: float
    profit: float
    margin: float
    free_margin: float
    margin_level: float
    currency: str


class Snapshot(TimeBasisFields):
    """Account, open positions and pending orders read in one terminal round trip."""

    account: AccountInfo
    positions: list[Position]
    orders: list[Order]
    timestamp: int = Field(description="Gateway UTC time of the snapshot, epoch seconds")
