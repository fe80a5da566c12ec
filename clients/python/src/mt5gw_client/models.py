# Generated from the gateway's /openapi.json by datamodel-codegen (config: pyproject.toml).
# Do not edit: regenerate with `datamodel-codegen --input ../openapi.json`.

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    SecretStr,
    StringConstraints,
)


class AccountInfo(BaseModel):
    login: Annotated[int, Field(title="Login")]
    balance: Annotated[float, Field(title="Balance")]
    equity: Annotated[float, Field(title="Equity")]
    margin: Annotated[float, Field(title="Margin")]
    free_margin: Annotated[float, Field(title="Free Margin")]
    margin_level: Annotated[
        float,
        Field(description="Equity / margin in percent; 0 without margin", title="Margin Level"),
    ]
    profit: Annotated[float, Field(description="Floating profit of open positions", title="Profit")]
    server: Annotated[str, Field(title="Server")]
    currency: Annotated[str, Field(title="Currency")]
    leverage: Annotated[int, Field(title="Leverage")]
    company: Annotated[str, Field(title="Company")]
    name: Annotated[str, Field(title="Name")]
    credit: Annotated[float, Field(title="Credit")]
    trade_mode: Annotated[str, Field(description="demo | contest | real", title="Trade Mode")]
    margin_mode: Annotated[
        str, Field(description="netting | exchange | hedging", title="Margin Mode")
    ]
    trade_allowed: Annotated[bool, Field(title="Trade Allowed")]
    trade_expert: Annotated[
        bool,
        Field(description="Whether the server allows algorithmic trading", title="Trade Expert"),
    ]
    limit_orders: Annotated[int, Field(title="Limit Orders")]
    margin_so_mode: Annotated[str, Field(description="percent | money", title="Margin So Mode")]
    margin_so_call: Annotated[float, Field(title="Margin So Call")]
    margin_so_so: Annotated[float, Field(title="Margin So So")]
    margin_initial: Annotated[float, Field(title="Margin Initial")]
    margin_maintenance: Annotated[float, Field(title="Margin Maintenance")]
    assets: Annotated[float, Field(title="Assets")]
    liabilities: Annotated[float, Field(title="Liabilities")]
    commission_blocked: Annotated[float, Field(title="Commission Blocked")]
    currency_digits: Annotated[int, Field(title="Currency Digits")]
    fifo_close: Annotated[bool, Field(title="Fifo Close")]


class AccountStatus(BaseModel):
    id: Annotated[str, Field(title="Id")]
    login: Annotated[int, Field(title="Login")]
    server: Annotated[str, Field(title="Server")]
    state: Annotated[
        Literal["unknown", "connected", "error", "disabled"],
        Field(description="What the last login said", title="State"),
    ]
    last_error: Annotated[str | None, Field(title="Last Error")]
    last_seen_at: Annotated[AwareDatetime | None, Field(title="Last Seen At")]
    terminal: Annotated[
        str | None, Field(description="The terminal logged into it now, if any", title="Terminal")
    ]
    trade_allowed: Annotated[
        bool | None, Field(description="Algo trading on that terminal", title="Trade Allowed")
    ]


class AccountSummary(BaseModel):
    """
    What the terminal said about the account when it logged in.
    """

    login: Annotated[int, Field(title="Login")]
    server: Annotated[str, Field(title="Server")]
    name: Annotated[str, Field(title="Name")]
    company: Annotated[str, Field(title="Company")]
    currency: Annotated[str, Field(title="Currency")]
    balance: Annotated[float, Field(title="Balance")]
    equity: Annotated[float, Field(title="Equity")]
    leverage: Annotated[int, Field(title="Leverage")]
    trade_mode: Annotated[Literal["demo", "contest", "real", "unknown"], Field(title="Trade Mode")]
    trade_allowed: Annotated[bool, Field(title="Trade Allowed")]


class AuditItem(BaseModel):
    id: Annotated[int, Field(title="Id")]
    at: Annotated[AwareDatetime, Field(title="At")]
    user_id: Annotated[str, Field(title="User Id")]
    account_id: Annotated[str | None, Field(title="Account Id")]
    action: Annotated[str, Field(title="Action")]
    request: Annotated[dict[str, Any] | None, Field(title="Request")]
    outcome: Annotated[dict[str, Any] | None, Field(title="Outcome")]
    retcode: Annotated[int | None, Field(title="Retcode")]


class AuditPage(BaseModel):
    entries: Annotated[list[AuditItem], Field(title="Entries")]
    next_before_id: Annotated[int | None, Field(title="Next Before Id")]


class Balance(BaseModel):
    login: Annotated[int, Field(title="Login")]
    balance: Annotated[float, Field(title="Balance")]
    credit: Annotated[float, Field(title="Credit")]
    currency: Annotated[str, Field(title="Currency")]


class Bar(BaseModel):
    time: Annotated[
        int, Field(description="Bar open time, epoch seconds (see time_basis)", title="Time")
    ]
    open: Annotated[float, Field(title="Open")]
    high: Annotated[float, Field(title="High")]
    low: Annotated[float, Field(title="Low")]
    close: Annotated[float, Field(title="Close")]
    volume: Annotated[int, Field(description="Tick volume", title="Volume")]
    spread: Annotated[int, Field(description="Minimal spread in the bar, points", title="Spread")]
    real_volume: Annotated[
        int, Field(description="Exchange volume (0 for OTC symbols)", title="Real Volume")
    ]


class BrokerServer(BaseModel):
    name: Annotated[str, Field(title="Name")]
    terminals: Annotated[
        int, Field(description="Terminals logged into this server right now", title="Terminals")
    ]


class StopLoss(RootModel[float]):
    root: Annotated[
        float,
        Field(description="SL price (0 removes it)", ge=0.0, le=1000000000000.0, title="Stop Loss"),
    ]


class TakeProfit(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="TP price (0 removes it)", ge=0.0, le=1000000000000.0, title="Take Profit"
        ),
    ]


class StopLossPoints(RootModel[int]):
    root: Annotated[
        int,
        Field(
            description="SL as a distance in points from the price",
            gt=0,
            le=10000000,
            title="Stop Loss Points",
        ),
    ]


class TakeProfitPoints(RootModel[int]):
    root: Annotated[
        int,
        Field(
            description="TP as a distance in points from the price",
            gt=0,
            le=10000000,
            title="Take Profit Points",
        ),
    ]


class Price(RootModel[float]):
    root: Annotated[float, Field(gt=0.0, le=1000000000000.0, title="Price")]


class Stoplimit(RootModel[float]):
    root: Annotated[float, Field(gt=0.0, le=1000000000000.0, title="Stoplimit")]


class CheckBody(BaseModel):
    """
    order_check of a market or pending order.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    stop_loss: Annotated[
        StopLoss | None, Field(description="SL price (0 removes it)", title="Stop Loss")
    ] = None
    take_profit: Annotated[
        TakeProfit | None, Field(description="TP price (0 removes it)", title="Take Profit")
    ] = None
    stop_loss_points: Annotated[
        StopLossPoints | None,
        Field(description="SL as a distance in points from the price", title="Stop Loss Points"),
    ] = None
    take_profit_points: Annotated[
        TakeProfitPoints | None,
        Field(description="TP as a distance in points from the price", title="Take Profit Points"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    volume: Annotated[float, Field(description="Lots", gt=0.0, le=1000000.0, title="Volume")]
    magic: Annotated[
        int | None,
        Field(
            description="Expert id copied to order/deal/position",
            ge=0,
            le=18446744073709552000,
            title="Magic",
        ),
    ] = 0
    comment: Annotated[
        str | None,
        Field(
            description="Kept after the gateway's 12-character client id and a space, cut to 16 UTF-16 code units (MT5 keeps 29 of the whole comment; an emoji takes two)",
            max_length=64,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Comment",
        ),
    ] = ""
    filling: Annotated[
        Literal["fok", "ioc", "return", "boc"] | None,
        Field(
            description="Preferred filling policy; on 10030 the next allowed one is tried",
            title="Filling",
        ),
    ] = None
    filling_strict: Annotated[
        bool | None,
        Field(description="Send only `filling`, never another policy", title="Filling Strict"),
    ] = False
    round_volume: Annotated[
        bool | None,
        Field(
            description="Round the volume to the symbol's step instead of refusing it",
            title="Round Volume",
        ),
    ] = False
    order_type: Annotated[
        Literal["buy", "sell"]
        | Literal[
            "buy_limit", "sell_limit", "buy_stop", "sell_stop", "buy_stop_limit", "sell_stop_limit"
        ],
        Field(title="Order Type"),
    ]
    price: Annotated[Price | None, Field(title="Price")] = None
    stoplimit: Annotated[Stoplimit | None, Field(title="Stoplimit")] = None
    deviation: Annotated[int | None, Field(ge=0, le=100000, title="Deviation")] = 20


class CheckResult(BaseModel):
    success: Annotated[bool, Field(title="Success")]
    retcode: Annotated[int, Field(title="Retcode")]
    retcode_name: Annotated[str, Field(title="Retcode Name")]
    message: Annotated[str, Field(title="Message")]
    margin: Annotated[float, Field(title="Margin")]
    margin_free: Annotated[float, Field(title="Margin Free")]
    margin_level: Annotated[float, Field(title="Margin Level")]
    balance: Annotated[float, Field(title="Balance")]
    equity: Annotated[float, Field(title="Equity")]
    profit: Annotated[float, Field(title="Profit")]
    filling: Annotated[str | None, Field(title="Filling")]
    volume: Annotated[float, Field(title="Volume")]
    notes: Annotated[list[str] | None, Field(title="Notes")] = []


class Symbol(RootModel[str]):
    root: Annotated[
        str,
        Field(description="Only this symbol", pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol"),
    ]


class CloseAllBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    symbol: Annotated[Symbol | None, Field(description="Only this symbol", title="Symbol")] = None
    deviation: Annotated[int | None, Field(ge=0, le=100000, title="Deviation")] = 20
    comment: Annotated[
        str | None, Field(max_length=64, pattern="^[^\\x00-\\x1f\\x7f]*$", title="Comment")
    ] = ""


class CloseAllResult(BaseModel):
    success: Annotated[bool, Field(title="Success")]
    closed: Annotated[int, Field(title="Closed")]
    results: Annotated[
        list[dict[str, Any]],
        Field(
            description="A TradeResult per position, or the refusal of one that was not sent",
            title="Results",
        ),
    ]


class CloseByBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    opposite: Annotated[
        int,
        Field(
            description="Ticket of the opposite position",
            ge=1,
            le=9223372036854776000,
            title="Opposite",
        ),
    ]
    comment: Annotated[
        str | None, Field(max_length=64, pattern="^[^\\x00-\\x1f\\x7f]*$", title="Comment")
    ] = ""


class Label(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="Your name for the account",
            max_length=255,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Label",
        ),
    ]


class Credentials(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    login: Annotated[
        int, Field(description="MT5 account number", ge=1, le=9223372036854776000, title="Login")
    ]
    password: Annotated[
        SecretStr,
        Field(
            description="Master or investor password (stored encrypted, never returned)",
            max_length=128,
            min_length=1,
            title="Password",
        ),
    ]
    server: Annotated[
        str,
        Field(
            description="Broker server name exactly as in the terminal, e.g. Sim-Demo",
            max_length=128,
            min_length=1,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Server",
        ),
    ]
    is_investor: Annotated[
        bool | None,
        Field(
            description="The password is the investor (read-only) one: reads work, trades are refused",
            title="Is Investor",
        ),
    ] = False


class Deal(BaseModel):
    ticket: Annotated[int, Field(title="Ticket")]
    order: Annotated[int, Field(title="Order")]
    time: Annotated[int, Field(title="Time")]
    type: Annotated[str, Field(description="buy, sell, balance, commission, …", title="Type")]
    entry: Annotated[str, Field(description="in | out | inout | out_by", title="Entry")]
    position_id: Annotated[int, Field(title="Position Id")]
    symbol: Annotated[str, Field(title="Symbol")]
    volume: Annotated[float, Field(title="Volume")]
    price: Annotated[float, Field(title="Price")]
    profit: Annotated[float, Field(title="Profit")]
    commission: Annotated[float, Field(title="Commission")]
    swap: Annotated[float, Field(title="Swap")]
    fee: Annotated[float, Field(title="Fee")]
    magic: Annotated[int, Field(title="Magic")]
    reason: Annotated[str, Field(title="Reason")]
    comment: Annotated[str, Field(title="Comment")]
    external_id: Annotated[str, Field(title="External Id")]


class DealError(BaseModel):
    deal: Annotated[int, Field(title="Deal")]
    position: Annotated[int, Field(title="Position")]
    reason: Annotated[str, Field(title="Reason")]


class DealsResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    deals: Annotated[list[Deal], Field(title="Deals")]


class Deleted(BaseModel):
    success: Annotated[Literal[True], Field(title="Success")] = True
    id: Annotated[str, Field(title="Id")]


class DeliveryOut(BaseModel):
    id: Annotated[int, Field(title="Id")]
    event_id: Annotated[str, Field(title="Event Id")]
    account_id: Annotated[str, Field(title="Account Id")]
    seq: Annotated[int, Field(title="Seq")]
    event_type: Annotated[str, Field(title="Event Type")]
    status: Annotated[str, Field(description="pending | delivered | failed", title="Status")]
    attempts: Annotated[int, Field(title="Attempts")]
    last_status: Annotated[
        int | None, Field(description="HTTP status of the last attempt", title="Last Status")
    ]
    last_error: Annotated[str | None, Field(title="Last Error")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    last_attempt_at: Annotated[AwareDatetime | None, Field(title="Last Attempt At")]
    next_attempt_at: Annotated[AwareDatetime, Field(title="Next Attempt At")]
    delivered_at: Annotated[AwareDatetime | None, Field(title="Delivered At")]


class Equity(BaseModel):
    login: Annotated[int, Field(title="Login")]
    equity: Annotated[float, Field(title="Equity")]
    balance: Annotated[float, Field(title="Balance")]
    profit: Annotated[float, Field(title="Profit")]
    margin: Annotated[float, Field(title="Margin")]
    free_margin: Annotated[float, Field(title="Free Margin")]
    margin_level: Annotated[float, Field(title="Margin Level")]
    currency: Annotated[str, Field(title="Currency")]


class EventOut(BaseModel):
    type: Annotated[str, Field(description='Always "event"', title="Type")]
    channel: Annotated[str, Field(description="positions | orders | deals", title="Channel")]
    event: Annotated[
        str, Field(description="position.opened, order.filled, deal.added, ...", title="Event")
    ]
    account_id: Annotated[str, Field(title="Account Id")]
    seq: Annotated[int, Field(description="Per-account sequence number, +1 per event", title="Seq")]
    id: Annotated[str, Field(title="Id")]
    time: Annotated[str, Field(description="When it happened, ISO-8601 UTC", title="Time")]
    reconciled: Annotated[
        bool, Field(description="Reconstructed after the account was away", title="Reconciled")
    ]
    cause: Annotated[
        dict[str, Any] | None,
        Field(
            description='{"by": "gateway", "request_id"} | {"by": "client", "reason"} | {"by": "broker", "reason"} | null when unknown',
            title="Cause",
        ),
    ]
    data: Annotated[dict[str, Any], Field(title="Data")]


class EventsPage(BaseModel):
    account_id: Annotated[str, Field(title="Account Id")]
    seq: Annotated[int, Field(description="The account's current seq", title="Seq")]
    resync: Annotated[
        bool,
        Field(
            description="Events after `after` are no longer stored: read the current state (/positions, /orders) and continue from `seq`",
            title="Resync",
        ),
    ]
    events: Annotated[list[EventOut], Field(title="Events")]
    next_after: Annotated[
        int, Field(description="Pass as `after` for the next page", title="Next After")
    ]
    has_more: Annotated[bool, Field(title="Has More")]


class Exposure(BaseModel):
    symbol: Annotated[str, Field(title="Symbol")]
    long: Annotated[float, Field(description="Lots bought and still open", title="Long")]
    short: Annotated[float, Field(description="Lots sold and still open", title="Short")]
    net: Annotated[float, Field(description="long - short", title="Net")]
    accounts: Annotated[int, Field(title="Accounts")]


class ExposureOut(BaseModel):
    id: Annotated[str, Field(title="Id")]
    exposure: Annotated[list[Exposure], Field(title="Exposure")]


class FieldError(BaseModel):
    loc: Annotated[list[str | int], Field(title="Loc")]
    msg: Annotated[str, Field(title="Msg")]
    type: Annotated[str, Field(title="Type")]


class FillingAttempt(BaseModel):
    filling: Annotated[str, Field(title="Filling")]
    retcode: Annotated[int, Field(title="Retcode")]


class JournalTradeOut(BaseModel):
    id: Annotated[str, Field(description="Stable id: mt5_{position}_{closing deal}", title="Id")]
    position_id: Annotated[int, Field(title="Position Id")]
    close_deal: Annotated[int, Field(title="Close Deal")]
    symbol: Annotated[str, Field(title="Symbol")]
    side: Annotated[Literal["buy", "sell"], Field(title="Side")]
    volume: Annotated[float, Field(title="Volume")]
    open_time: Annotated[AwareDatetime, Field(title="Open Time")]
    close_time: Annotated[AwareDatetime, Field(title="Close Time")]
    open_price: Annotated[float, Field(title="Open Price")]
    close_price: Annotated[float, Field(title="Close Price")]
    profit: Annotated[float, Field(title="Profit")]
    commission: Annotated[float, Field(title="Commission")]
    swap: Annotated[float, Field(title="Swap")]
    fee: Annotated[float, Field(title="Fee")]
    net: Annotated[float, Field(description="profit + commission + swap + fee", title="Net")]
    magic: Annotated[int, Field(title="Magic")]
    comment: Annotated[str, Field(title="Comment")]
    reason: Annotated[
        str,
        Field(
            description="Why it closed: client, mobile, web, expert, sl, tp, so, …", title="Reason"
        ),
    ]


class AccountId(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="The one account it may act for; omit for all your accounts",
            pattern="^[A-Za-z0-9-]{1,64}$",
            title="Account Id",
        ),
    ]


class AllowedIp(RootModel[str]):
    root: Annotated[str, Field(max_length=64)]


class AllowedIps(RootModel[list[AllowedIp]]):
    root: Annotated[
        list[AllowedIp],
        Field(
            description="Addresses or CIDR networks it may be used from; omit: anywhere",
            examples=[["203.0.113.7", "10.0.0.0/8"]],
            max_length=32,
            title="Allowed Ips",
        ),
    ]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    name: Annotated[
        str,
        Field(
            description="Your name for it",
            max_length=100,
            min_length=1,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Name",
        ),
    ]
    account_id: Annotated[
        AccountId | None,
        Field(
            description="The one account it may act for; omit for all your accounts",
            title="Account Id",
        ),
    ] = None
    scopes: Annotated[
        list[Literal["read", "trade", "stream", "admin"]],
        Field(
            description="read: GET routes; trade: orders and every other change; stream: the WebSocket stream; admin: /api/v1/admin (admins only)",
            examples=[["read", "trade"]],
            max_length=4,
            min_length=1,
            title="Scopes",
        ),
    ]
    expires_at: Annotated[
        AwareDatetime | None,
        Field(
            description="When it stops working (ISO-8601; no zone = UTC); omit: never",
            title="Expires At",
        ),
    ] = None
    allowed_ips: Annotated[
        AllowedIps | None,
        Field(
            description="Addresses or CIDR networks it may be used from; omit: anywhere",
            examples=[["203.0.113.7", "10.0.0.0/8"]],
            title="Allowed Ips",
        ),
    ] = None


class KeyCreated(BaseModel):
    id: Annotated[str, Field(title="Id")]
    prefix: Annotated[
        str, Field(description="Names the key in lists, logs and the audit trail", title="Prefix")
    ]
    name: Annotated[str, Field(title="Name")]
    account_id: Annotated[
        str | None, Field(description="null: all your accounts", title="Account Id")
    ]
    scopes: Annotated[list[str], Field(title="Scopes")]
    expires_at: Annotated[AwareDatetime | None, Field(title="Expires At")]
    allowed_ips: Annotated[list[str] | None, Field(title="Allowed Ips")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    revoked_at: Annotated[AwareDatetime | None, Field(title="Revoked At")]
    last_used_at: Annotated[
        AwareDatetime | None, Field(description="At most a minute behind", title="Last Used At")
    ]
    last_used_ip: Annotated[str | None, Field(title="Last Used Ip")]
    active: Annotated[bool, Field(description="Neither revoked nor expired", title="Active")]
    key: Annotated[
        str,
        Field(
            description="The secret: send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Shown only in this answer",
            title="Key",
        ),
    ]


class KeyOut(BaseModel):
    id: Annotated[str, Field(title="Id")]
    prefix: Annotated[
        str, Field(description="Names the key in lists, logs and the audit trail", title="Prefix")
    ]
    name: Annotated[str, Field(title="Name")]
    account_id: Annotated[
        str | None, Field(description="null: all your accounts", title="Account Id")
    ]
    scopes: Annotated[list[str], Field(title="Scopes")]
    expires_at: Annotated[AwareDatetime | None, Field(title="Expires At")]
    allowed_ips: Annotated[list[str] | None, Field(title="Allowed Ips")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    revoked_at: Annotated[AwareDatetime | None, Field(title="Revoked At")]
    last_used_at: Annotated[
        AwareDatetime | None, Field(description="At most a minute behind", title="Last Used At")
    ]
    last_used_ip: Annotated[str | None, Field(title="Last Used Ip")]
    active: Annotated[bool, Field(description="Neither revoked nor expired", title="Active")]


class LoginResponse(BaseModel):
    session_token: Annotated[
        str,
        Field(description="Send as `Authorization: Bearer <session_token>`", title="Session Token"),
    ]
    token_type: Annotated[Literal["bearer"], Field(title="Token Type")] = "bearer"
    expires_at: Annotated[AwareDatetime, Field(title="Expires At")]
    expires_in: Annotated[int, Field(description="Seconds until it expires", title="Expires In")]
    user_id: Annotated[
        str, Field(description="The gateway user of this MT5 login", title="User Id")
    ]
    account_id: Annotated[
        str, Field(description="The stored account the session acts for", title="Account Id")
    ]
    account_info: AccountSummary


class LogoutResponse(BaseModel):
    message: Annotated[str, Field(title="Message")]


class MT5ErrorInfo(BaseModel):
    """
    ``last_error()`` as MetaTrader5 reported it.
    """

    code: Annotated[int, Field(title="Code")]
    message: Annotated[str, Field(title="Message")]


class Margin(BaseModel):
    symbol: Annotated[str, Field(title="Symbol")]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(title="Volume")]
    price: Annotated[float, Field(title="Price")]
    margin: Annotated[float, Field(title="Margin")]
    currency: Annotated[str, Field(title="Currency")]


class AccountId1(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="Your account (default: your current one)",
            pattern="^[A-Za-z0-9-]{1,64}$",
            title="Account Id",
        ),
    ]


class Price1(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="Default: the current ask for buy, bid for sell",
            gt=0.0,
            lt=1000000000.0,
            title="Price",
        ),
    ]


class MarginBody(BaseModel):
    account_id: Annotated[
        AccountId1 | None,
        Field(description="Your account (default: your current one)", title="Account Id"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(gt=0.0, le=1000000.0, title="Volume")]
    price: Annotated[
        Price1 | None,
        Field(description="Default: the current ask for buy, bid for sell", title="Price"),
    ] = None


class MarketDataResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    symbol: Annotated[str, Field(title="Symbol")]
    timeframe: Annotated[str, Field(title="Timeframe")]
    count: Annotated[int, Field(title="Count")]
    data: Annotated[list[Bar], Field(title="Data")]


class Order(BaseModel):
    ticket: Annotated[int, Field(title="Ticket")]
    symbol: Annotated[str, Field(title="Symbol")]
    type: Annotated[
        str,
        Field(
            description="buy_limit, sell_stop, … (also buy/sell for market orders)", title="Type"
        ),
    ]
    state: Annotated[str, Field(title="State")]
    volume_initial: Annotated[float, Field(title="Volume Initial")]
    volume_current: Annotated[float, Field(title="Volume Current")]
    price_open: Annotated[float, Field(title="Price Open")]
    price_current: Annotated[float, Field(title="Price Current")]
    price_stoplimit: Annotated[float, Field(title="Price Stoplimit")]
    sl: Annotated[float, Field(title="Sl")]
    tp: Annotated[float, Field(title="Tp")]
    time_setup: Annotated[int, Field(title="Time Setup")]
    time_done: Annotated[int, Field(title="Time Done")]
    time_expiration: Annotated[
        int, Field(description="0 when the order does not expire", title="Time Expiration")
    ]
    type_time: Annotated[str, Field(title="Type Time")]
    type_filling: Annotated[str, Field(title="Type Filling")]
    magic: Annotated[int, Field(title="Magic")]
    position_id: Annotated[int, Field(title="Position Id")]
    position_by_id: Annotated[int, Field(title="Position By Id")]
    reason: Annotated[str, Field(title="Reason")]
    comment: Annotated[str, Field(title="Comment")]
    external_id: Annotated[str, Field(title="External Id")]


class Price2(RootModel[float]):
    root: Annotated[float, Field(gt=0.0, le=1000000000000.0, title="Price")]


class OrderModifyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    stop_loss: Annotated[
        StopLoss | None, Field(description="SL price (0 removes it)", title="Stop Loss")
    ] = None
    take_profit: Annotated[
        TakeProfit | None, Field(description="TP price (0 removes it)", title="Take Profit")
    ] = None
    stop_loss_points: Annotated[
        StopLossPoints | None,
        Field(description="SL as a distance in points from the price", title="Stop Loss Points"),
    ] = None
    take_profit_points: Annotated[
        TakeProfitPoints | None,
        Field(description="TP as a distance in points from the price", title="Take Profit Points"),
    ] = None
    price: Annotated[Price2 | None, Field(title="Price")] = None
    stoplimit: Annotated[Stoplimit | None, Field(title="Stoplimit")] = None
    expiration: Annotated[
        Literal["gtc", "day", "specified", "specified_day"] | None, Field(title="Expiration")
    ] = None
    expiration_time: Annotated[AwareDatetime | None, Field(title="Expiration Time")] = None


class OrdersResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    orders: Annotated[list[Order], Field(title="Orders")]


class Stoplimit2(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="Limit price of the order a stop-limit places",
            gt=0.0,
            le=1000000000000.0,
            title="Stoplimit",
        ),
    ]


class PendingBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    stop_loss: Annotated[
        StopLoss | None, Field(description="SL price (0 removes it)", title="Stop Loss")
    ] = None
    take_profit: Annotated[
        TakeProfit | None, Field(description="TP price (0 removes it)", title="Take Profit")
    ] = None
    stop_loss_points: Annotated[
        StopLossPoints | None,
        Field(description="SL as a distance in points from the price", title="Stop Loss Points"),
    ] = None
    take_profit_points: Annotated[
        TakeProfitPoints | None,
        Field(description="TP as a distance in points from the price", title="Take Profit Points"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    volume: Annotated[float, Field(description="Lots", gt=0.0, le=1000000.0, title="Volume")]
    magic: Annotated[
        int | None,
        Field(
            description="Expert id copied to order/deal/position",
            ge=0,
            le=18446744073709552000,
            title="Magic",
        ),
    ] = 0
    comment: Annotated[
        str | None,
        Field(
            description="Kept after the gateway's 12-character client id and a space, cut to 16 UTF-16 code units (MT5 keeps 29 of the whole comment; an emoji takes two)",
            max_length=64,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Comment",
        ),
    ] = ""
    filling: Annotated[
        Literal["fok", "ioc", "return", "boc"] | None,
        Field(
            description="Preferred filling policy; on 10030 the next allowed one is tried",
            title="Filling",
        ),
    ] = None
    filling_strict: Annotated[
        bool | None,
        Field(description="Send only `filling`, never another policy", title="Filling Strict"),
    ] = False
    round_volume: Annotated[
        bool | None,
        Field(
            description="Round the volume to the symbol's step instead of refusing it",
            title="Round Volume",
        ),
    ] = False
    order_type: Annotated[
        Literal[
            "buy_limit", "sell_limit", "buy_stop", "sell_stop", "buy_stop_limit", "sell_stop_limit"
        ],
        Field(title="Order Type"),
    ]
    price: Annotated[
        float, Field(description="Activation price", gt=0.0, le=1000000000000.0, title="Price")
    ]
    stoplimit: Annotated[
        Stoplimit2 | None,
        Field(description="Limit price of the order a stop-limit places", title="Stoplimit"),
    ] = None
    expiration: Annotated[
        Literal["gtc", "day", "specified", "specified_day"] | None, Field(title="Expiration")
    ] = "gtc"
    expiration_time: Annotated[
        AwareDatetime | None,
        Field(
            description="UTC time (ISO-8601; no zone means UTC) for expiration specified(_day)",
            title="Expiration Time",
        ),
    ] = None


class PoolTerminal(BaseModel):
    """
    The pool's view of one terminal.
    """

    name: Annotated[str, Field(title="Name")]
    server: Annotated[
        str | None, Field(description="Broker server of the account it holds", title="Server")
    ]
    login: Annotated[
        int | None, Field(description="The account it holds (None: none known)", title="Login")
    ]
    busy: Annotated[bool, Field(title="Busy")]
    healthy: Annotated[
        bool, Field(description="In rotation (answers the pool's health checks)", title="Healthy")
    ]
    switches: Annotated[int, Field(description="Account logins so far", title="Switches")]
    served: Annotated[int, Field(description="Requests served so far", title="Served")]
    queue_depth: Annotated[
        int,
        Field(description="Queued requests it could serve without switching", title="Queue Depth"),
    ]
    trade_allowed: Annotated[
        bool | None,
        Field(description="Algo trading allowed after the last check", title="Trade Allowed"),
    ]
    last_error: Annotated[str | None, Field(title="Last Error")]
    only_server: Annotated[
        str | None, Field(description="The one broker server it may log into", title="Only Server")
    ]


class Position(BaseModel):
    ticket: Annotated[int, Field(title="Ticket")]
    symbol: Annotated[str, Field(title="Symbol")]
    type: Annotated[str, Field(description="buy | sell", title="Type")]
    volume: Annotated[float, Field(title="Volume")]
    price_open: Annotated[float, Field(title="Price Open")]
    price_current: Annotated[float, Field(title="Price Current")]
    profit: Annotated[float, Field(title="Profit")]
    swap: Annotated[float, Field(title="Swap")]
    time_open: Annotated[
        int, Field(description="Open time, epoch seconds (see time_basis)", title="Time Open")
    ]
    comment: Annotated[str, Field(title="Comment")]
    sl: Annotated[float, Field(title="Sl")]
    tp: Annotated[float, Field(title="Tp")]
    magic: Annotated[int, Field(title="Magic")]
    identifier: Annotated[
        int, Field(description="Position ID shared by its orders and deals", title="Identifier")
    ]
    time_update: Annotated[int, Field(title="Time Update")]
    reason: Annotated[str, Field(title="Reason")]
    external_id: Annotated[str, Field(title="External Id")]


class PositionSize(BaseModel):
    symbol: Annotated[str, Field(title="Symbol")]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[
        float,
        Field(
            description="Lots, rounded down to the volume step, within the limits", title="Volume"
        ),
    ]
    risk_amount: Annotated[
        float, Field(description="Money lost at the stop with this volume", title="Risk Amount")
    ]
    risk_wanted: Annotated[
        float, Field(description="The risk asked for, in the account currency", title="Risk Wanted")
    ]
    margin: Annotated[
        float, Field(description="Margin this volume needs (order_calc_margin)", title="Margin")
    ]
    currency: Annotated[str, Field(description="The account currency", title="Currency")]
    price: Annotated[float, Field(description="Entry price used", title="Price")]
    stop_loss: Annotated[float, Field(description="Stop-loss price used", title="Stop Loss")]
    loss_per_lot: Annotated[
        float, Field(description="Money lost at the stop per 1 lot", title="Loss Per Lot")
    ]
    clamped: Annotated[
        Literal["volume_min", "volume_max"] | None,
        Field(
            description="Set when the volume was raised to volume_min or cut to volume_max; the risk_amount then differs from the risk asked for",
            title="Clamped",
        ),
    ]


class RiskPercent(RootModel[float]):
    root: Annotated[
        float, Field(description="Risk as % of risk_basis", gt=0.0, le=100.0, title="Risk Percent")
    ]


class RiskAmount(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="Risk in the account currency",
            gt=0.0,
            lt=1000000000000.0,
            title="Risk Amount",
        ),
    ]


class StopLoss3(RootModel[float]):
    root: Annotated[
        float, Field(description="Stop-loss price", gt=0.0, lt=1000000000.0, title="Stop Loss")
    ]


class StopPoints(RootModel[int]):
    root: Annotated[
        int,
        Field(
            description="Stop distance in points instead of a price",
            ge=1,
            le=10000000,
            title="Stop Points",
        ),
    ]


class Price3(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="Entry price (default: the current ask for buy, bid for sell)",
            gt=0.0,
            lt=1000000000.0,
            title="Price",
        ),
    ]


class PositionSizeBody(BaseModel):
    account_id: Annotated[
        AccountId1 | None,
        Field(description="Your account (default: your current one)", title="Account Id"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    risk_percent: Annotated[
        RiskPercent | None, Field(description="Risk as % of risk_basis", title="Risk Percent")
    ] = None
    risk_amount: Annotated[
        RiskAmount | None, Field(description="Risk in the account currency", title="Risk Amount")
    ] = None
    risk_basis: Annotated[
        Literal["balance", "equity"] | None,
        Field(description="What risk_percent is a percentage of", title="Risk Basis"),
    ] = "balance"
    stop_loss: Annotated[
        StopLoss3 | None, Field(description="Stop-loss price", title="Stop Loss")
    ] = None
    stop_points: Annotated[
        StopPoints | None,
        Field(description="Stop distance in points instead of a price", title="Stop Points"),
    ] = None
    price: Annotated[
        Price3 | None,
        Field(
            description="Entry price (default: the current ask for buy, bid for sell)",
            title="Price",
        ),
    ] = None


class StopLoss4(RootModel[float]):
    root: Annotated[
        float,
        Field(description="SL price (0 removes it)", ge=0.0, le=1000000000000.0, title="Stop Loss"),
    ]


class PositionStopsBody(BaseModel):
    """
    New SL/TP of a position; a field left out keeps its current value.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    stop_loss: Annotated[
        StopLoss4 | None, Field(description="SL price (0 removes it)", title="Stop Loss")
    ] = None
    take_profit: Annotated[
        TakeProfit | None, Field(description="TP price (0 removes it)", title="Take Profit")
    ] = None
    stop_loss_points: Annotated[
        StopLossPoints | None,
        Field(description="SL as a distance in points from the price", title="Stop Loss Points"),
    ] = None
    take_profit_points: Annotated[
        TakeProfitPoints | None,
        Field(description="TP as a distance in points from the price", title="Take Profit Points"),
    ] = None


class PositionsResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    positions: Annotated[list[Position], Field(title="Positions")]


class Profit(BaseModel):
    symbol: Annotated[str, Field(title="Symbol")]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(title="Volume")]
    price_open: Annotated[float, Field(title="Price Open")]
    price_close: Annotated[float, Field(title="Price Close")]
    profit: Annotated[float, Field(title="Profit")]
    currency: Annotated[str, Field(title="Currency")]


class ProfitBody(BaseModel):
    account_id: Annotated[
        AccountId1 | None,
        Field(description="Your account (default: your current one)", title="Account Id"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(gt=0.0, le=1000000.0, title="Volume")]
    price_open: Annotated[float, Field(gt=0.0, lt=1000000000.0, title="Price Open")]
    price_close: Annotated[float, Field(gt=0.0, lt=1000000000.0, title="Price Close")]


class Progress(BaseModel):
    pending: Annotated[int | None, Field(title="Pending")] = 0
    filled: Annotated[int | None, Field(title="Filled")] = 0
    refused: Annotated[int | None, Field(title="Refused")] = 0
    unknown: Annotated[int | None, Field(title="Unknown")] = 0
    closed: Annotated[int | None, Field(title="Closed")] = 0


class RangeResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    symbol: Annotated[str, Field(title="Symbol")]
    timeframe: Annotated[str, Field(title="Timeframe")]
    count: Annotated[int, Field(title="Count")]
    data: Annotated[list[Bar], Field(title="Data")]
    start_date: Annotated[
        int, Field(description="Requested range start, UTC epoch seconds", title="Start Date")
    ]
    end_date: Annotated[
        int, Field(description="Requested range end, UTC epoch seconds", title="End Date")
    ]


class ReplayResult(BaseModel):
    queued: Annotated[int, Field(description="Events queued again for delivery", title="Queued")]
    account_id: Annotated[str, Field(title="Account Id")]
    after: Annotated[int, Field(title="After")]


class MaxVolumePerOrder(RootModel[float]):
    root: Annotated[float, Field(gt=0.0, le=1000000000.0, title="Max Volume Per Order")]


class MaxOpenPositions(RootModel[int]):
    root: Annotated[int, Field(ge=0, le=100000, title="Max Open Positions")]


class AllowedSymbol(RootModel[str]):
    root: Annotated[str, Field(pattern="^[A-Za-z0-9._#+\\-]{1,29}$")]


class AllowedSymbols(RootModel[list[AllowedSymbol]]):
    root: Annotated[list[AllowedSymbol], Field(max_length=1000, title="Allowed Symbols")]


class MaxDailyLoss(RootModel[float]):
    root: Annotated[float, Field(gt=0.0, le=1000000000000000.0, title="Max Daily Loss")]


class RiskLimitsIn(BaseModel):
    """
    Limits the gateway enforces before sending an order (unset: no limit).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    max_volume_per_order: Annotated[
        MaxVolumePerOrder | None, Field(title="Max Volume Per Order")
    ] = None
    max_open_positions: Annotated[MaxOpenPositions | None, Field(title="Max Open Positions")] = None
    allowed_symbols: Annotated[AllowedSymbols | None, Field(title="Allowed Symbols")] = None
    max_daily_loss: Annotated[MaxDailyLoss | None, Field(title="Max Daily Loss")] = None


class RiskLimitsOut(BaseModel):
    max_volume_per_order: Annotated[float | None, Field(title="Max Volume Per Order")] = None
    max_open_positions: Annotated[int | None, Field(title="Max Open Positions")] = None
    allowed_symbols: Annotated[list[str] | None, Field(title="Allowed Symbols")] = None
    max_daily_loss: Annotated[float | None, Field(title="Max Daily Loss")] = None


class ServerTime(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    server: Annotated[str, Field(title="Server")]
    time: Annotated[int, Field(description="Current true UTC time, epoch seconds", title="Time")]
    server_time: Annotated[
        int | None,
        Field(description="The broker server's wall clock, epoch seconds", title="Server Time"),
    ]
    offset_source: Annotated[
        Literal["configured", "detected", "unknown"], Field(title="Offset Source")
    ]
    iso: Annotated[str, Field(description="Current UTC time, ISO-8601", title="Iso")]


class ServersResponse(BaseModel):
    servers: Annotated[list[BrokerServer], Field(title="Servers")]


class Sizing(BaseModel):
    """
    How much each account trades:

    - ``fixed``: ``value`` lots;
    - ``multiplier``: ``value`` × the order's ``volume``;
    - ``risk_percent``: ``value`` % of the account's equity lost at the order's stop;
    - ``risk_amount``: ``value`` in the account currency lost at the order's stop.

    The risk rules need a stop (``stop_loss`` or ``stop_loss_points``) and round down to the
    symbol's volume step, like ``POST /calculate/position-size``.
    """

    mode: Annotated[
        Literal["fixed", "multiplier", "risk_percent", "risk_amount"] | None, Field(title="Mode")
    ] = "multiplier"
    value: Annotated[float | None, Field(gt=0.0, le=1000000.0, title="Value")] = 1.0


class Snapshot(BaseModel):
    """
    Account, open positions and pending orders read in one terminal round trip.
    """

    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    account: AccountInfo
    positions: Annotated[list[Position], Field(title="Positions")]
    orders: Annotated[list[Order], Field(title="Orders")]
    timestamp: Annotated[
        int, Field(description="Gateway UTC time of the snapshot, epoch seconds", title="Timestamp")
    ]


class Stats(BaseModel):
    """
    The figures (the API answers them as they are).
    """

    trades: Annotated[int, Field(title="Trades")]
    wins: Annotated[int, Field(title="Wins")]
    losses: Annotated[int, Field(title="Losses")]
    win_rate: Annotated[float | None, Field(title="Win Rate")]
    gross_profit: Annotated[float, Field(title="Gross Profit")]
    gross_loss: Annotated[float, Field(title="Gross Loss")]
    net: Annotated[float, Field(title="Net")]
    profit_factor: Annotated[float | None, Field(title="Profit Factor")]
    expectancy: Annotated[float | None, Field(title="Expectancy")]
    average_win: Annotated[float | None, Field(title="Average Win")]
    average_loss: Annotated[float | None, Field(title="Average Loss")]
    largest_win: Annotated[float | None, Field(title="Largest Win")]
    largest_loss: Annotated[float | None, Field(title="Largest Loss")]
    longest_winning_streak: Annotated[int, Field(title="Longest Winning Streak")]
    longest_losing_streak: Annotated[int, Field(title="Longest Losing Streak")]
    max_drawdown: Annotated[float, Field(title="Max Drawdown")]
    max_drawdown_pct: Annotated[float | None, Field(title="Max Drawdown Pct")]
    avg_holding_s: Annotated[float | None, Field(title="Avg Holding S")]


class StatsGroup(BaseModel):
    trades: Annotated[int, Field(title="Trades")]
    wins: Annotated[int, Field(title="Wins")]
    losses: Annotated[int, Field(title="Losses")]
    win_rate: Annotated[float | None, Field(title="Win Rate")]
    gross_profit: Annotated[float, Field(title="Gross Profit")]
    gross_loss: Annotated[float, Field(title="Gross Loss")]
    net: Annotated[float, Field(title="Net")]
    profit_factor: Annotated[float | None, Field(title="Profit Factor")]
    expectancy: Annotated[float | None, Field(title="Expectancy")]
    average_win: Annotated[float | None, Field(title="Average Win")]
    average_loss: Annotated[float | None, Field(title="Average Loss")]
    largest_win: Annotated[float | None, Field(title="Largest Win")]
    largest_loss: Annotated[float | None, Field(title="Largest Loss")]
    longest_winning_streak: Annotated[int, Field(title="Longest Winning Streak")]
    longest_losing_streak: Annotated[int, Field(title="Longest Losing Streak")]
    max_drawdown: Annotated[float, Field(title="Max Drawdown")]
    max_drawdown_pct: Annotated[float | None, Field(title="Max Drawdown Pct")]
    avg_holding_s: Annotated[float | None, Field(title="Avg Holding S")]
    key: Annotated[str, Field(title="Key")]


class Swap(BaseModel):
    symbol: Annotated[str, Field(title="Symbol")]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(title="Volume")]
    nights: Annotated[int, Field(title="Nights")]
    swap_mode: Annotated[str, Field(title="Swap Mode")]
    rate: Annotated[
        float, Field(description="swap_long or swap_short, as the symbol states it", title="Rate")
    ]
    per_night: Annotated[
        float,
        Field(description="Cost of one ordinary rollover (negative = you pay)", title="Per Night"),
    ]
    triple_nights: Annotated[
        int,
        Field(
            description="Rollovers charged three times (swap_rollover3days)", title="Triple Nights"
        ),
    ]
    total: Annotated[float, Field(title="Total")]
    currency: Annotated[str, Field(description="Currency of per_night and total", title="Currency")]


class StartWeekday(RootModel[int]):
    root: Annotated[
        int,
        Field(
            description="Weekday of the first rollover, 0 = Sunday (default: today)",
            ge=0,
            le=6,
            title="Start Weekday",
        ),
    ]


class SwapBody(BaseModel):
    account_id: Annotated[
        AccountId1 | None,
        Field(description="Your account (default: your current one)", title="Account Id"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    volume: Annotated[float, Field(gt=0.0, le=1000000.0, title="Volume")]
    nights: Annotated[
        int | None, Field(description="Rollovers held through", ge=1, le=3650, title="Nights")
    ] = 1
    start_weekday: Annotated[
        StartWeekday | None,
        Field(
            description="Weekday of the first rollover, 0 = Sunday (default: today)",
            title="Start Weekday",
        ),
    ] = None


class SymbolResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    path: Annotated[str, Field(title="Path")]
    currency_base: Annotated[str, Field(title="Currency Base")]
    currency_profit: Annotated[str, Field(title="Currency Profit")]
    currency_margin: Annotated[str, Field(title="Currency Margin")]
    digits: Annotated[int, Field(title="Digits")]
    point: Annotated[float, Field(title="Point")]
    spread: Annotated[int, Field(description="Current spread in points", title="Spread")]
    spread_float: Annotated[bool, Field(title="Spread Float")]
    trade_mode: Annotated[
        str,
        Field(
            description="disabled | long_only | short_only | close_only | full", title="Trade Mode"
        ),
    ]
    execution_mode: Annotated[
        str, Field(description="request | instant | market | exchange", title="Execution Mode")
    ]
    calc_mode: Annotated[str, Field(title="Calc Mode")]
    chart_mode: Annotated[str, Field(title="Chart Mode")]
    filling_modes: Annotated[
        list[str],
        Field(description="Filling flags of the symbol: fok, ioc, boc", title="Filling Modes"),
    ]
    market_order_filling: Annotated[
        list[str],
        Field(
            description="Filling policies a market order may use, given the execution mode",
            title="Market Order Filling",
        ),
    ]
    order_modes: Annotated[
        list[str],
        Field(description="market, limit, stop, stop_limit, sl, tp, close_by", title="Order Modes"),
    ]
    expiration_modes: Annotated[
        list[str], Field(description="gtc, day, specified, specified_day", title="Expiration Modes")
    ]
    order_gtc_mode: Annotated[str, Field(title="Order Gtc Mode")]
    volume_min: Annotated[float, Field(title="Volume Min")]
    volume_max: Annotated[float, Field(title="Volume Max")]
    volume_step: Annotated[float, Field(title="Volume Step")]
    volume_limit: Annotated[
        float,
        Field(description="Max total volume per direction; 0 = unlimited", title="Volume Limit"),
    ]
    stops_level: Annotated[
        int,
        Field(description="Minimal SL/TP distance from the price, in points", title="Stops Level"),
    ]
    freeze_level: Annotated[
        int,
        Field(
            description="Distance in points inside which orders are frozen", title="Freeze Level"
        ),
    ]
    contract_size: Annotated[float, Field(title="Contract Size")]
    tick_size: Annotated[float, Field(title="Tick Size")]
    tick_value: Annotated[float, Field(title="Tick Value")]
    swap_mode: Annotated[str, Field(title="Swap Mode")]
    swap_long: Annotated[float, Field(title="Swap Long")]
    swap_short: Annotated[float, Field(title="Swap Short")]
    swap_rollover3days: Annotated[str, Field(title="Swap Rollover3Days")]
    margin_initial: Annotated[float, Field(title="Margin Initial")]
    margin_maintenance: Annotated[float, Field(title="Margin Maintenance")]
    margin_hedged: Annotated[float, Field(title="Margin Hedged")]
    bid: Annotated[float, Field(title="Bid")]
    ask: Annotated[float, Field(title="Ask")]
    last: Annotated[float, Field(title="Last")]
    time: Annotated[
        int, Field(description="Time of the latest quote (see time_basis)", title="Time")
    ]
    select: Annotated[bool, Field(description="Shown in Market Watch", title="Select")]
    visible: Annotated[bool, Field(title="Visible")]
    custom: Annotated[bool, Field(title="Custom")]


class SymbolSpec(BaseModel):
    """
    A symbol's trading specification and latest quote.
    """

    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    path: Annotated[str, Field(title="Path")]
    currency_base: Annotated[str, Field(title="Currency Base")]
    currency_profit: Annotated[str, Field(title="Currency Profit")]
    currency_margin: Annotated[str, Field(title="Currency Margin")]
    digits: Annotated[int, Field(title="Digits")]
    point: Annotated[float, Field(title="Point")]
    spread: Annotated[int, Field(description="Current spread in points", title="Spread")]
    spread_float: Annotated[bool, Field(title="Spread Float")]
    trade_mode: Annotated[
        str,
        Field(
            description="disabled | long_only | short_only | close_only | full", title="Trade Mode"
        ),
    ]
    execution_mode: Annotated[
        str, Field(description="request | instant | market | exchange", title="Execution Mode")
    ]
    calc_mode: Annotated[str, Field(title="Calc Mode")]
    chart_mode: Annotated[str, Field(title="Chart Mode")]
    filling_modes: Annotated[
        list[str],
        Field(description="Filling flags of the symbol: fok, ioc, boc", title="Filling Modes"),
    ]
    market_order_filling: Annotated[
        list[str],
        Field(
            description="Filling policies a market order may use, given the execution mode",
            title="Market Order Filling",
        ),
    ]
    order_modes: Annotated[
        list[str],
        Field(description="market, limit, stop, stop_limit, sl, tp, close_by", title="Order Modes"),
    ]
    expiration_modes: Annotated[
        list[str], Field(description="gtc, day, specified, specified_day", title="Expiration Modes")
    ]
    order_gtc_mode: Annotated[str, Field(title="Order Gtc Mode")]
    volume_min: Annotated[float, Field(title="Volume Min")]
    volume_max: Annotated[float, Field(title="Volume Max")]
    volume_step: Annotated[float, Field(title="Volume Step")]
    volume_limit: Annotated[
        float,
        Field(description="Max total volume per direction; 0 = unlimited", title="Volume Limit"),
    ]
    stops_level: Annotated[
        int,
        Field(description="Minimal SL/TP distance from the price, in points", title="Stops Level"),
    ]
    freeze_level: Annotated[
        int,
        Field(
            description="Distance in points inside which orders are frozen", title="Freeze Level"
        ),
    ]
    contract_size: Annotated[float, Field(title="Contract Size")]
    tick_size: Annotated[float, Field(title="Tick Size")]
    tick_value: Annotated[float, Field(title="Tick Value")]
    swap_mode: Annotated[str, Field(title="Swap Mode")]
    swap_long: Annotated[float, Field(title="Swap Long")]
    swap_short: Annotated[float, Field(title="Swap Short")]
    swap_rollover3days: Annotated[str, Field(title="Swap Rollover3Days")]
    margin_initial: Annotated[float, Field(title="Margin Initial")]
    margin_maintenance: Annotated[float, Field(title="Margin Maintenance")]
    margin_hedged: Annotated[float, Field(title="Margin Hedged")]
    bid: Annotated[float, Field(title="Bid")]
    ask: Annotated[float, Field(title="Ask")]
    last: Annotated[float, Field(title="Last")]
    time: Annotated[
        int, Field(description="Time of the latest quote (see time_basis)", title="Time")
    ]
    select: Annotated[bool, Field(description="Shown in Market Watch", title="Select")]
    visible: Annotated[bool, Field(title="Visible")]
    custom: Annotated[bool, Field(title="Custom")]


class SymbolsResponse(BaseModel):
    symbols: Annotated[list[str], Field(title="Symbols")]
    count: Annotated[int, Field(title="Count")]
    specs: Annotated[
        list[SymbolSpec] | None,
        Field(
            description="Full specifications, in the order of `symbols` (details=true)",
            title="Specs",
        ),
    ] = None


class SyncAnswer(BaseModel):
    synced: Annotated[int, Field(description="Trades added to the journal", title="Synced")]
    skipped: Annotated[
        int, Field(description="Trades found that were already in the journal", title="Skipped")
    ]
    errors: Annotated[
        list[DealError],
        Field(description="Deals that could not be made into trades", title="Errors"),
    ]
    balance_ops: Annotated[
        int,
        Field(
            description="Balance operations added (deposits, withdrawals, …)", title="Balance Ops"
        ),
    ]
    cursor: Annotated[
        int,
        Field(description="Newest deal time synced, broker server clock, epoch s", title="Cursor"),
    ]


class SyncSettings(BaseModel):
    auto_sync: Annotated[
        bool, Field(description="Sync this account in the background", title="Auto Sync")
    ]


class SyncStatus(BaseModel):
    account_id: Annotated[str, Field(title="Account Id")]
    cursor: Annotated[int, Field(title="Cursor")]
    synced_at: Annotated[AwareDatetime | None, Field(title="Synced At")]
    auto_sync: Annotated[bool, Field(title="Auto Sync")]
    last_error: Annotated[str | None, Field(title="Last Error")]


class Tag(RootModel[str]):
    root: Annotated[str, Field(max_length=64, min_length=1, pattern="^[A-Za-z0-9_.:-]+$")]


class TagsBody(BaseModel):
    tags: Annotated[list[Tag], Field(max_length=32, title="Tags")]


class TagsOut(BaseModel):
    account_id: Annotated[str, Field(title="Account Id")]
    tags: Annotated[list[str], Field(title="Tags")]


class TargetOut(BaseModel):
    account_id: Annotated[str, Field(title="Account Id")]
    user_id: Annotated[str, Field(title="User Id")]
    state: Annotated[
        Literal["pending", "filled", "refused", "unknown", "closed"], Field(title="State")
    ]
    symbol: Annotated[str | None, Field(title="Symbol")]
    volume: Annotated[float | None, Field(title="Volume")]
    ticket: Annotated[int | None, Field(title="Ticket")]
    price: Annotated[float | None, Field(title="Price")]
    code: Annotated[
        str | None, Field(description="Why it was refused (the API error code)", title="Code")
    ]
    detail: Annotated[str | None, Field(title="Detail")]
    request_id: Annotated[
        str | None,
        Field(description="The trade request, while being reconciled", title="Request Id"),
    ]


class User(RootModel[str]):
    root: Annotated[str, Field(max_length=255, min_length=1, pattern="^[A-Za-z0-9_.@:-]+$")]


class Account(RootModel[str]):
    root: Annotated[str, Field(pattern="^[A-Za-z0-9-]{1,64}$")]


class Tag1(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="Every account its owner tagged so",
            max_length=64,
            min_length=1,
            pattern="^[A-Za-z0-9_.:-]+$",
            title="Tag",
        ),
    ]


class Targets(BaseModel):
    users: Annotated[list[User] | None, Field(max_length=500, title="Users")] = None
    accounts: Annotated[list[Account] | None, Field(max_length=500, title="Accounts")] = None
    tag: Annotated[
        Tag1 | None, Field(description="Every account its owner tagged so", title="Tag")
    ] = None


class TerminalHealth(BaseModel):
    name: Annotated[str, Field(title="Name")]
    reachable: Annotated[bool, Field(description="The terminal server answers", title="Reachable")]
    connected: Annotated[
        bool, Field(description="The terminal is connected to its broker server", title="Connected")
    ]
    account: Annotated[
        int | None,
        Field(
            description="Login it holds (public answer: the configured account only)",
            title="Account",
        ),
    ] = None
    server: Annotated[
        str | None,
        Field(
            description="Its broker server (public answer: the configured account's)",
            title="Server",
        ),
    ] = None
    error: Annotated[
        str | None, Field(description="Error code when not healthy", title="Error")
    ] = None


class TestConnectionResponse(BaseModel):
    success: Annotated[Literal[True], Field(title="Success")] = True
    message: Annotated[str, Field(title="Message")]
    account_info: AccountSummary


class ThrottleCleared(BaseModel):
    cleared: Annotated[int, Field(description="How many keys were forgotten", title="Cleared")]


class ThrottleEntry(BaseModel):
    """
    One counted caller (``user:…``, ``ip:…``) or target (``mt5:login@server``, ``apikey:…``).
    """

    key: Annotated[str, Field(title="Key")]
    failures: Annotated[
        int, Field(description="Unproven attempts in the current window", title="Failures")
    ]
    last_attempt_at: Annotated[AwareDatetime, Field(title="Last Attempt At")]
    locked_until: Annotated[AwareDatetime | None, Field(title="Locked Until")]
    retry_after_s: Annotated[
        int | None,
        Field(description="Seconds until it may try again (None: now)", title="Retry After S"),
    ]


class ThrottleList(BaseModel):
    entries: Annotated[list[ThrottleEntry], Field(title="Entries")]


class TickResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    symbol: Annotated[str, Field(title="Symbol")]
    time: Annotated[int, Field(description="Epoch seconds (see time_basis)", title="Time")]
    time_msc: Annotated[
        int, Field(description="Epoch milliseconds (see time_basis)", title="Time Msc")
    ]
    bid: Annotated[float, Field(title="Bid")]
    ask: Annotated[float, Field(title="Ask")]
    last: Annotated[float, Field(title="Last")]
    volume: Annotated[int, Field(title="Volume")]
    volume_real: Annotated[float, Field(title="Volume Real")]
    flags: Annotated[
        list[str],
        Field(description="What changed: bid, ask, last, volume, buy, sell", title="Flags"),
    ]


class TickRow(BaseModel):
    time: Annotated[int, Field(title="Time")]
    time_msc: Annotated[int, Field(title="Time Msc")]
    bid: Annotated[float, Field(title="Bid")]
    ask: Annotated[float, Field(title="Ask")]
    last: Annotated[float, Field(title="Last")]
    volume: Annotated[int, Field(title="Volume")]
    volume_real: Annotated[float, Field(title="Volume Real")]
    flags: Annotated[
        int,
        Field(
            description="TICK_FLAG bits: 2 bid, 4 ask, 8 last, 16 volume, 32 buy, 64 sell",
            title="Flags",
        ),
    ]


class TicksResponse(BaseModel):
    time_basis: Annotated[
        Literal["utc", "server"],
        Field(
            description="'utc': times are true UTC epoch seconds; 'server': the broker's UTC offset is unknown, so times are the broker server's wall clock as epoch seconds",
            title="Time Basis",
        ),
    ]
    server_utc_offset_s: Annotated[
        int | None,
        Field(
            description="Broker server time minus UTC, in seconds (None when unknown)",
            title="Server Utc Offset S",
        ),
    ]
    symbol: Annotated[str, Field(title="Symbol")]
    flags: Annotated[Literal["all", "info", "trade"], Field(title="Flags")]
    count: Annotated[int, Field(title="Count")]
    data: Annotated[list[TickRow], Field(title="Data")]


class Timeframe(
    RootModel[
        Literal[
            "M1",
            "M2",
            "M3",
            "M4",
            "M5",
            "M6",
            "M10",
            "M12",
            "M15",
            "M20",
            "M30",
            "H1",
            "H2",
            "H3",
            "H4",
            "H6",
            "H8",
            "H12",
            "D1",
            "W1",
            "MN1",
        ]
    ]
):
    root: Annotated[
        Literal[
            "M1",
            "M2",
            "M3",
            "M4",
            "M5",
            "M6",
            "M10",
            "M12",
            "M15",
            "M20",
            "M30",
            "H1",
            "H2",
            "H3",
            "H4",
            "H6",
            "H8",
            "H12",
            "D1",
            "W1",
            "MN1",
        ],
        Field(title="Timeframe"),
    ]


class Price4(RootModel[float]):
    root: Annotated[
        float,
        Field(
            description="Expected price (instant/request execution; default: market)",
            gt=0.0,
            le=1000000000000.0,
            title="Price",
        ),
    ]


class TradeBody(BaseModel):
    """
    A market order (seed 003 body plus optional fields).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    stop_loss: Annotated[
        StopLoss4 | None, Field(description="SL price (0 removes it)", title="Stop Loss")
    ] = None
    take_profit: Annotated[
        TakeProfit | None, Field(description="TP price (0 removes it)", title="Take Profit")
    ] = None
    stop_loss_points: Annotated[
        StopLossPoints | None,
        Field(description="SL as a distance in points from the price", title="Stop Loss Points"),
    ] = None
    take_profit_points: Annotated[
        TakeProfitPoints | None,
        Field(description="TP as a distance in points from the price", title="Take Profit Points"),
    ] = None
    symbol: Annotated[
        str, Field(examples=["EURUSD"], pattern="^[A-Za-z0-9._#+\\-]{1,29}$", title="Symbol")
    ]
    volume: Annotated[float, Field(description="Lots", gt=0.0, le=1000000.0, title="Volume")]
    magic: Annotated[
        int | None,
        Field(
            description="Expert id copied to order/deal/position",
            ge=0,
            le=18446744073709552000,
            title="Magic",
        ),
    ] = 0
    comment: Annotated[
        str | None,
        Field(
            description="Kept after the gateway's 12-character client id and a space, cut to 16 UTF-16 code units (MT5 keeps 29 of the whole comment; an emoji takes two)",
            max_length=64,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Comment",
        ),
    ] = ""
    filling: Annotated[
        Literal["fok", "ioc", "return", "boc"] | None,
        Field(
            description="Preferred filling policy; on 10030 the next allowed one is tried",
            title="Filling",
        ),
    ] = None
    filling_strict: Annotated[
        bool | None,
        Field(description="Send only `filling`, never another policy", title="Filling Strict"),
    ] = False
    round_volume: Annotated[
        bool | None,
        Field(
            description="Round the volume to the symbol's step instead of refusing it",
            title="Round Volume",
        ),
    ] = False
    order_type: Annotated[Literal["buy", "sell"], Field(title="Order Type")]
    price: Annotated[
        Price4 | None,
        Field(
            description="Expected price (instant/request execution; default: market)", title="Price"
        ),
    ] = None
    deviation: Annotated[
        int | None,
        Field(description="Accepted slippage in points", ge=0, le=100000, title="Deviation"),
    ] = 20


class TradeRequestState(BaseModel):
    request_id: Annotated[str, Field(title="Request Id")]
    client_id: Annotated[str, Field(title="Client Id")]
    account_id: Annotated[str, Field(title="Account Id")]
    state: Annotated[str, Field(title="State")]
    request: Annotated[dict[str, Any], Field(title="Request")]
    result: Annotated[dict[str, Any] | None, Field(title="Result")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]


class TradeResult(BaseModel):
    """
    One MT5 request and its answer, normalized.
    """

    success: Annotated[bool, Field(title="Success")]
    ticket: Annotated[
        int,
        Field(description="Position (market) or order (pending) ticket; 0 if none", title="Ticket"),
    ]
    price: Annotated[float, Field(title="Price")]
    volume: Annotated[float, Field(title="Volume")]
    symbol: Annotated[str, Field(title="Symbol")]
    type: Annotated[str, Field(title="Type")]
    retcode: Annotated[int, Field(title="Retcode")]
    retcode_name: Annotated[str, Field(title="Retcode Name")]
    message: Annotated[str, Field(title="Message")]
    order: Annotated[int, Field(title="Order")]
    deal: Annotated[int, Field(title="Deal")]
    position: Annotated[int, Field(title="Position")]
    filling: Annotated[
        str | None, Field(description="Filling policy the request was sent with", title="Filling")
    ]
    filling_attempts: Annotated[
        list[FillingAttempt] | None, Field(title="Filling Attempts", validate_default=True)
    ] = []
    request_id: Annotated[
        str,
        Field(
            description="Gateway request id: GET /api/v1/trades/requests/{id}", title="Request Id"
        ),
    ]
    mt5_request_id: Annotated[int | None, Field(title="Mt5 Request Id")] = 0
    client_id: Annotated[
        str, Field(description="Id written at the start of the MT5 comment", title="Client Id")
    ]
    state: Annotated[Literal["done", "rejected", "unknown", "not_executed"], Field(title="State")]
    reconciled: Annotated[
        bool | None,
        Field(description="Outcome found by looking the client id up", title="Reconciled"),
    ] = False
    notes: Annotated[list[str] | None, Field(title="Notes")] = []


class TradesPage(BaseModel):
    trades: Annotated[list[JournalTradeOut], Field(title="Trades")]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as ?cursor= for the next (older) page", title="Next Cursor"),
    ]


class Password(RootModel[SecretStr]):
    root: Annotated[
        SecretStr,
        Field(
            description="A new password, verified on a terminal before it is stored",
            max_length=128,
            min_length=1,
            title="Password",
        ),
    ]


class UpdateRequest(BaseModel):
    """
    Only the fields you send change; ``label: null`` clears the label.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    label: Annotated[
        Label | None, Field(description="Your name for the account", title="Label")
    ] = None
    is_default: Annotated[
        bool | None,
        Field(description="true makes it your default (false is ignored)", title="Is Default"),
    ] = None
    risk_limits: RiskLimitsIn | None = None
    password: Annotated[
        Password | None,
        Field(
            description="A new password, verified on a terminal before it is stored",
            title="Password",
        ),
    ] = None
    is_investor: Annotated[
        bool | None,
        Field(
            description="Whether the (new) password is the investor one; needs `password`",
            title="Is Investor",
        ),
    ] = None


class User1(BaseModel):
    """
    ``is_admin``: the token's ``app_metadata.role`` is "admin" (``user_metadata`` is
    user-editable and never trusted) or the id is in ``ADMIN_USER_IDS``; an API key is an
    admin only with the ``admin`` scope, given by an admin.

    A Supabase user may do anything their account allows (``scopes`` and ``account_id`` are
    null). An API key carries the scopes it was given and, when bound, the one account it may
    act for; an MT5-credential session is bound to the account it logged in with.
    """

    id: Annotated[str, Field(title="Id")]
    email: Annotated[str | None, Field(title="Email")] = None
    role: Annotated[str | None, Field(title="Role")] = "authenticated"
    session_id: Annotated[str | None, Field(title="Session Id")] = None
    aal: Annotated[str | None, Field(title="Aal")] = None
    is_admin: Annotated[bool | None, Field(title="Is Admin")] = False
    auth: Annotated[
        Literal["supabase", "api_key", "mt5_session"] | None,
        Field(description="How the caller authenticated", title="Auth"),
    ] = "supabase"
    api_key_id: Annotated[
        str | None, Field(description="The API key used, if any", title="Api Key Id")
    ] = None
    api_key_prefix: Annotated[
        str | None, Field(description="Its display prefix", title="Api Key Prefix")
    ] = None
    scopes: Annotated[
        list[str] | None,
        Field(
            description="What the credential may do (null: everything the user may)", title="Scopes"
        ),
    ] = None
    account_id: Annotated[
        str | None,
        Field(
            description="The one account the credential may act for (null: any)", title="Account Id"
        ),
    ] = None


class AccountId5(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="One of your accounts; omit for all of them",
            pattern="^[A-Za-z0-9-]{1,64}$",
            title="Account Id",
        ),
    ]


class Description(RootModel[str]):
    root: Annotated[str, Field(max_length=255, title="Description")]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    url: Annotated[
        str,
        Field(
            description="Where to POST events (https in production)", max_length=2048, title="Url"
        ),
    ]
    account_id: Annotated[
        AccountId5 | None,
        Field(description="One of your accounts; omit for all of them", title="Account Id"),
    ] = None
    event_types: Annotated[
        list[str] | None,
        Field(
            description="Event types to send (e.g. position.closed, order.*); empty: all",
            max_length=32,
            title="Event Types",
        ),
    ] = None
    description: Annotated[Description | None, Field(title="Description")] = None


class WebhookCreated(BaseModel):
    id: Annotated[str, Field(title="Id")]
    url: Annotated[str, Field(title="Url")]
    account_id: Annotated[
        str | None, Field(description="None: all of your accounts", title="Account Id")
    ]
    event_types: Annotated[list[str], Field(title="Event Types")]
    description: Annotated[str | None, Field(title="Description")]
    enabled: Annotated[bool, Field(title="Enabled")]
    disabled_reason: Annotated[
        str | None,
        Field(description="Why deliveries stopped, when they did", title="Disabled Reason"),
    ]
    disabled_at: Annotated[AwareDatetime | None, Field(title="Disabled At")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    secret: Annotated[
        str,
        Field(
            description="Signing secret (whsec_...): shown only now; verify the webhook-signature header with it (Standard Webhooks)",
            title="Secret",
        ),
    ]


class WebhookOut(BaseModel):
    id: Annotated[str, Field(title="Id")]
    url: Annotated[str, Field(title="Url")]
    account_id: Annotated[
        str | None, Field(description="None: all of your accounts", title="Account Id")
    ]
    event_types: Annotated[list[str], Field(title="Event Types")]
    description: Annotated[str | None, Field(title="Description")]
    enabled: Annotated[bool, Field(title="Enabled")]
    disabled_reason: Annotated[
        str | None,
        Field(description="Why deliveries stopped, when they did", title="Disabled Reason"),
    ]
    disabled_at: Annotated[AwareDatetime | None, Field(title="Disabled At")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]


class WebhooksPage(BaseModel):
    webhooks: Annotated[list[WebhookOut], Field(title="Webhooks")]


class AccountOut(BaseModel):
    id: Annotated[
        str,
        Field(
            description='Account id for `?account_id=`; "default": the configured one', title="Id"
        ),
    ]
    login: Annotated[int, Field(title="Login")]
    server: Annotated[str, Field(title="Server")]
    label: Annotated[str | None, Field(title="Label")]
    is_investor: Annotated[bool, Field(title="Is Investor")]
    is_default: Annotated[bool, Field(title="Is Default")]
    is_current: Annotated[bool, Field(title="Is Current")]
    status: Annotated[Literal["unknown", "connected", "error", "disabled"], Field(title="Status")]
    last_error: Annotated[str | None, Field(title="Last Error")]
    last_seen_at: Annotated[AwareDatetime | None, Field(title="Last Seen At")]
    risk_limits: RiskLimitsOut
    created_at: Annotated[AwareDatetime | None, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime | None, Field(title="Updated At")]


class AccountsResponse(BaseModel):
    accounts: Annotated[list[AccountOut], Field(title="Accounts")]
    current_id: Annotated[
        str | None, Field(description="Id of your current account, if any", title="Current Id")
    ]


class BroadcastBody(BaseModel):
    order: Annotated[
        TradeBody | PendingBody,
        Field(
            description="The order; its volume is the base the multiplier sizing scales",
            title="Order",
        ),
    ]
    targets: Targets
    sizing: Sizing | None = None
    overrides: Annotated[
        dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")], Sizing] | None,
        Field(description="Sizing per account id", title="Overrides"),
    ] = None
    symbol_map: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=64)],
            dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._#+\-]{1,29}$")], str],
        ]
        | None,
        Field(
            description="Per broker server, the symbol to trade instead (e.g. EURUSD → EURUSD.m); without an entry, a server lacking the symbol trades its one suffixed variant",
            max_length=64,
            title="Symbol Map",
        ),
    ] = None


class BroadcastOut(BaseModel):
    id: Annotated[str, Field(title="Id")]
    created_by: Annotated[str, Field(title="Created By")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    finished_at: Annotated[AwareDatetime | None, Field(title="Finished At")]
    progress: Progress
    targets: Annotated[list[TargetOut], Field(title="Targets")]


class ConnectRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    login: Annotated[
        int, Field(description="MT5 account number", ge=1, le=9223372036854776000, title="Login")
    ]
    password: Annotated[
        SecretStr,
        Field(
            description="Master or investor password (stored encrypted, never returned)",
            max_length=128,
            min_length=1,
            title="Password",
        ),
    ]
    server: Annotated[
        str,
        Field(
            description="Broker server name exactly as in the terminal, e.g. Sim-Demo",
            max_length=128,
            min_length=1,
            pattern="^[^\\x00-\\x1f\\x7f]*$",
            title="Server",
        ),
    ]
    is_investor: Annotated[
        bool | None,
        Field(
            description="The password is the investor (read-only) one: reads work, trades are refused",
            title="Is Investor",
        ),
    ] = False
    label: Annotated[
        Label | None, Field(description="Your name for the account", title="Label")
    ] = None
    risk_limits: RiskLimitsIn | None = None
    is_default: Annotated[
        bool | None,
        Field(
            description="Make it your default account (your first one always is)",
            title="Is Default",
        ),
    ] = False


class ConnectedAccount(BaseModel):
    id: Annotated[
        str,
        Field(
            description='Account id for `?account_id=`; "default": the configured one', title="Id"
        ),
    ]
    login: Annotated[int, Field(title="Login")]
    server: Annotated[str, Field(title="Server")]
    label: Annotated[str | None, Field(title="Label")]
    is_investor: Annotated[bool, Field(title="Is Investor")]
    is_default: Annotated[bool, Field(title="Is Default")]
    is_current: Annotated[bool, Field(title="Is Current")]
    status: Annotated[Literal["unknown", "connected", "error", "disabled"], Field(title="Status")]
    last_error: Annotated[str | None, Field(title="Last Error")]
    last_seen_at: Annotated[AwareDatetime | None, Field(title="Last Seen At")]
    risk_limits: RiskLimitsOut
    created_at: Annotated[AwareDatetime | None, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime | None, Field(title="Updated At")]
    account_info: AccountSummary


class DeliveriesPage(BaseModel):
    deliveries: Annotated[list[DeliveryOut], Field(description="Newest first", title="Deliveries")]


class ErrorResponse(BaseModel):
    """
    The body of every error answer.
    """

    detail: Annotated[str, Field(title="Detail")]
    code: Annotated[str, Field(title="Code")]
    retcode: Annotated[int | None, Field(title="Retcode")] = None
    mt5_error: MT5ErrorInfo | None = None
    errors: Annotated[list[FieldError] | None, Field(title="Errors")] = None
    known_servers: Annotated[list[str] | None, Field(title="Known Servers")] = None


class KeyList(BaseModel):
    keys: Annotated[list[KeyOut], Field(title="Keys")]


class PoolHealth(BaseModel):
    """
    Which terminal holds which account, the queue and the switch count.
    """

    terminals: Annotated[list[PoolTerminal], Field(title="Terminals")]
    healthy: Annotated[int, Field(title="Healthy")]
    busy: Annotated[int, Field(title="Busy")]
    queued: Annotated[int, Field(title="Queued")]
    switches: Annotated[int, Field(title="Switches")]
    served: Annotated[int, Field(title="Served")]
    rejected: Annotated[
        int,
        Field(description="Requests refused with 503 (queue full or deadline)", title="Rejected"),
    ]


class StatsAnswer(BaseModel):
    account_id: Annotated[str, Field(title="Account Id")]
    overall: Stats
    groups: Annotated[
        list[StatsGroup],
        Field(description="Per symbol, month or magic when group_by is set", title="Groups"),
    ]


class AdminPool(BaseModel):
    """
    Every terminal's probe and the pool's full view: logins, servers, last errors.
    """

    terminals: Annotated[list[TerminalHealth], Field(title="Terminals")]
    pool: PoolHealth


class HealthResponse(BaseModel):
    status: Annotated[Literal["healthy", "degraded", "unhealthy"], Field(title="Status")]
    mt5_available: Annotated[
        bool, Field(description="At least one terminal server answers", title="Mt5 Available")
    ]
    mt5_connected: Annotated[
        bool,
        Field(
            description="At least one terminal is connected to its broker", title="Mt5 Connected"
        ),
    ]
    mt5_library: Annotated[str, Field(title="Mt5 Library")]
    supabase_available: Annotated[
        bool | None,
        Field(
            description="Whether the last JWKS fetch worked (None: not fetched yet)",
            title="Supabase Available",
        ),
    ]
    account: Annotated[
        int | None,
        Field(
            description="Login of the configured single-tenant account when a terminal holds it",
            title="Account",
        ),
    ]
    timestamp: Annotated[str, Field(description="Gateway UTC time, ISO-8601", title="Timestamp")]
    terminals: Annotated[list[TerminalHealth], Field(title="Terminals")]
    pool: PoolHealth
