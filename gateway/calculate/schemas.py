"""Bodies and answers of the calculators. Field names are a contract: clients rely on them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from gateway.accounts.context import ACCOUNT_ID_PATTERN
from gateway.deps import SYMBOL_PATTERN

Side = Literal["buy", "sell"]
Price = Annotated[float, Field(gt=0, lt=1e9, allow_inf_nan=False)]
Volume = Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)]
AccountId = Annotated[
    str | None,
    Field(pattern=ACCOUNT_ID_PATTERN, description="Your account (default: your current one)"),
]
SymbolName = Annotated[str, Field(pattern=SYMBOL_PATTERN, examples=["EURUSD"])]


class PositionSizeBody(BaseModel):
    account_id: AccountId = None
    symbol: SymbolName
    order_type: Side
    risk_percent: float | None = Field(
        None, gt=0, le=100, allow_inf_nan=False, description="Risk as % of risk_basis"
    )
    risk_amount: float | None = Field(
        None, gt=0, lt=1e12, allow_inf_nan=False, description="Risk in the account currency"
    )
    risk_basis: Literal["balance", "equity"] = Field(
        "balance", description="What risk_percent is a percentage of"
    )
    stop_loss: Price | None = Field(None, description="Stop-loss price")
    stop_points: int | None = Field(
        None, ge=1, le=10_000_000, description="Stop distance in points instead of a price"
    )
    price: Price | None = Field(
        None, description="Entry price (default: the current ask for buy, bid for sell)"
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> PositionSizeBody:
        if (self.risk_percent is None) == (self.risk_amount is None):
            raise ValueError("give exactly one of risk_percent and risk_amount")
        if (self.stop_loss is None) == (self.stop_points is None):
            raise ValueError("give exactly one of stop_loss and stop_points")
        return self


class PositionSize(BaseModel):
    symbol: str
    order_type: Side
    volume: float = Field(description="Lots, rounded down to the volume step, within the limits")
    risk_amount: float = Field(description="Money lost at the stop with this volume")
    risk_wanted: float = Field(description="The risk asked for, in the account currency")
    margin: float = Field(description="Margin this volume needs (order_calc_margin)")
    currency: str = Field(description="The account currency")
    price: float = Field(description="Entry price used")
    stop_loss: float = Field(description="Stop-loss price used")
    loss_per_lot: float = Field(description="Money lost at the stop per 1 lot")
    clamped: Literal["volume_min", "volume_max"] | None = Field(
        description="Set when the volume was raised to volume_min or cut to volume_max; the "
        "risk_amount then differs from the risk asked for"
    )


class MarginBody(BaseModel):
    account_id: AccountId = None
    symbol: SymbolName
    order_type: Side
    volume: Volume
    price: Price | None = Field(None, description="Default: the current ask for buy, bid for sell")


class Margin(BaseModel):
    symbol: str
    order_type: Side
    volume: float
    price: float
    margin: float
    currency: str


class ProfitBody(BaseModel):
    account_id: AccountId = None
    symbol: SymbolName
    order_type: Side
    volume: Volume
    price_open: Price
    price_close: Price


class Profit(BaseModel):
    symbol: str
    order_type: Side
    volume: float
    price_open: float
    price_close: float
    profit: float
    currency: str


class SwapBody(BaseModel):
    account_id: AccountId = None
    symbol: SymbolName
    order_type: Side
    volume: Volume
    nights: int = Field(1, ge=1, le=3650, description="Rollovers held through")
    start_weekday: int | None = Field(
        None, ge=0, le=6, description="Weekday of the first rollover, 0 = Sunday (default: today)"
    )


class Swap(BaseModel):
    symbol: str
    order_type: Side
    volume: float
    nights: int
    swap_mode: str
    rate: float = Field(description="swap_long or swap_short, as the symbol states it")
    per_night: float = Field(description="Cost of one ordinary rollover (negative = you pay)")
    triple_nights: int = Field(description="Rollovers charged three times (swap_rollover3days)")
    total: float
    currency: str = Field(description="Currency of per_night and total")
