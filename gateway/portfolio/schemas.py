"""What an account holds now: its figures (seed contract fields login … company keep their
names and meaning), open positions and pending orders."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas import TimeBasisFields


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


class Position(BaseModel):
    ticket: int
    symbol: str
    type: str = Field(description="buy | sell")
    volume: float
    price_open: float
    price_current: float
    profit: float
    swap: float
    time_open: int = Field(description="Open time, epoch seconds (see time_basis)")
    comment: str
    sl: float
    tp: float
    magic: int
    identifier: int = Field(description="Position ID shared by its orders and deals")
    time_update: int
    reason: str
    external_id: str


class PositionsResponse(TimeBasisFields):
    positions: list[Position]


class Order(BaseModel):
    ticket: int
    symbol: str
    type: str = Field(description="buy_limit, sell_stop, … (also buy/sell for market orders)")
    state: str
    volume_initial: float
    volume_current: float
    price_open: float
    price_current: float
    price_stoplimit: float
    sl: float
    tp: float
    time_setup: int
    time_done: int
    time_expiration: int = Field(description="0 when the order does not expire")
    type_time: str
    type_filling: str
    magic: int
    position_id: int
    position_by_id: int
    reason: str
    comment: str
    external_id: str


class OrdersResponse(TimeBasisFields):
    orders: list[Order]


class Snapshot(TimeBasisFields):
    """Account, open positions and pending orders read in one terminal round trip."""

    account: AccountInfo
    positions: list[Position]
    orders: list[Order]
    timestamp: int = Field(description="Gateway UTC time of the snapshot, epoch seconds")
