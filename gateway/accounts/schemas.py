"""Bodies and answers of the account API. Passwords go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr

from gateway.deps import SYMBOL_PATTERN
from gateway.validation import Amount, Text
from gateway.validation import Label as LabelText

Login = Annotated[
    int,
    Field(
        ge=1,
        le=2**63 - 1,
        validation_alias=AliasChoices("login", "mt5Login", "account_number"),
        description="MT5 account number",
    ),
]
Server = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("server", "mt5Server"),
        description="Broker server name exactly as in the terminal, e.g. Sim-Demo",
    ),
]
Password = Annotated[
    SecretStr,
    Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("password", "mt5Password", "investorPassword"),
        description="Master or investor password (stored encrypted, never returned)",
    ),
]
Investor = Annotated[
    bool,
    Field(
        validation_alias=AliasChoices("is_investor", "investor"),
        description="The password is the investor (read-only) one: reads work, trades are refused",
    ),
]
Label = Annotated[
    LabelText | None,
    Field(
        validation_alias=AliasChoices("label", "account_name"),
        description="Your name for the account",
    ),
]


class RiskLimitsIn(BaseModel):
    """Limits the gateway enforces before sending an order (unset: no limit)."""

    model_config = ConfigDict(extra="forbid")

    max_volume_per_order: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)
    max_open_positions: int | None = Field(default=None, ge=0, le=100_000)
    allowed_symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] | None = Field(
        default=None, max_length=1000
    )
    max_daily_loss: Amount | None = None


class RiskLimitsOut(BaseModel):
    max_volume_per_order: float | None = None
    max_open_positions: int | None = None
    allowed_symbols: list[str] | None = None
    max_daily_loss: float | None = None


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    login: Login
    password: Password
    server: Server
    is_investor: Investor = False


class ConnectRequest(Credentials):
    label: Label = None
    risk_limits: RiskLimitsIn | None = None
    is_default: bool = Field(
        default=False, description="Make it your default account (your first one always is)"
    )


class UpdateRequest(BaseModel):
    """Only the fields you send change; ``label: null`` clears the label."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    label: Label = None
    is_default: bool | None = Field(
        default=None, description="true makes it your default (false is ignored)"
    )
    risk_limits: RiskLimitsIn | None = None
    password: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("password", "mt5Password", "investorPassword"),
        description="A new password, verified on a terminal before it is stored",
    )
    is_investor: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("is_investor", "investor"),
        description="Whether the (new) password is the investor one; needs `password`",
    )


class AccountSummary(BaseModel):
    """What the terminal said about the account when it logged in."""

    login: int
    server: str
    name: str
    company: str
    currency: str
    balance: float
    equity: float
    leverage: int
    trade_mode: Literal["demo", "contest", "real", "unknown"]
    trade_allowed: bool


AccountState = Literal["unknown", "connected", "error", "disabled"]


class AccountOut(BaseModel):
    id: str = Field(description='Account id for `?account_id=`; "default": the configured one')
    login: int
    server: str
    label: str | None
    is_investor: bool
    is_default: bool
    is_current: bool
    status: AccountState
    last_error: str | None
    last_seen_at: datetime | None
    risk_limits: RiskLimitsOut
    created_at: datetime | None
    updated_at: datetime | None


class ConnectedAccount(AccountOut):
    account_info: AccountSummary


class AccountsResponse(BaseModel):
    accounts: list[AccountOut]
    current_id: str | None = Field(description="Id of your current account, if any")


class TestConnectionResponse(BaseModel):
    success: Literal[True] = True
    message: str
    account_info: AccountSummary


class AccountStatus(BaseModel):
    id: str
    login: int
    server: str
    state: AccountState = Field(description="What the last login said")
    last_error: str | None
    last_seen_at: datetime | None
    terminal: str | None = Field(description="The terminal logged into it now, if any")
    trade_allowed: bool | None = Field(description="Algo trading on that terminal")


class Deleted(BaseModel):
    success: Literal[True] = True
    id: str


class BrokerServer(BaseModel):
    name: str
    terminals: int = Field(description="Terminals logged into this server right now")


class ServersResponse(BaseModel):
    servers: list[BrokerServer]
