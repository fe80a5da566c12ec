"""Every endpoint as a :class:`Call`: the HTTP request, its retry kind and its answer's model.

The sync :class:`~mt5gw_client.Client` and the async :class:`~mt5gw_client.AsyncClient` expose
each function here as a method of the same name and arguments (``client.place_trade(...)``),
answering the parsed model. Times may be ``datetime`` (sent as ISO-8601) or epoch seconds.
``account_id`` addresses one of your accounts explicitly (default: your default account).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from . import models as m
from .retry import Kind

T = TypeVar("T")
When = datetime | int | float | str | None
Timeframe = Literal[
    "M1", "M2", "M3", "M4", "M5", "M6", "M10", "M12", "M15", "M20", "M30",
    "H1", "H2", "H3", "H4", "H6", "H8", "H12", "D1", "W1", "MN1",
]  # fmt: skip


@dataclass
class Call(Generic[T]):
    method: str
    path: str
    answer: Any  # a pydantic model class, or a type for TypeAdapter
    kind: Kind = "read"
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    idempotency_key: str | None = None

    def query(self) -> dict[str, Any]:
        return {k: _wire(v) for k, v in self.params.items() if v is not None}

    def parse(self, data: Any) -> T:
        if isinstance(self.answer, type) and issubclass(self.answer, BaseModel):
            return self.answer.model_validate(data)  # type: ignore[return-value]
        return TypeAdapter(self.answer).validate_python(data)  # type: ignore[no-any-return]


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _body(**values: Any) -> dict[str, Any]:
    """A JSON body without the unset (None) fields, so the gateway's defaults apply."""
    return {k: _wire(v) for k, v in values.items() if v is not None}


# -- who and where -------------------------------------------------------------------------------


def health() -> Call[m.HealthResponse]:
    """``GET /health`` (no authentication needed)."""
    return Call("GET", "/health", m.HealthResponse)


def me() -> Call[m.User1]:
    return Call("GET", "/api/v1/me", m.User1)  # "User" went to an inline item name


def accounts() -> Call[m.AccountsResponse]:
    """Your MT5 accounts."""
    return Call("GET", "/api/v1/accounts", m.AccountsResponse)


def connect_account(
    login: int, password: str, server: str, *, label: str | None = None, is_default: bool = False
) -> Call[m.ConnectedAccount]:
    """Store an MT5 account (the gateway checks the credentials with a real login first)."""
    body = _body(login=login, password=password, server=server, label=label)
    body["is_default"] = is_default
    return Call("POST", "/api/v1/accounts/connect", m.ConnectedAccount, "write", json=body)


def servers() -> Call[m.ServersResponse]:
    return Call("GET", "/api/v1/servers", m.ServersResponse)


# -- account state -------------------------------------------------------------------------------


def account_info(account_id: str | None = None) -> Call[m.AccountInfo]:
    return Call("GET", "/api/v1/account/info", m.AccountInfo, params={"account_id": account_id})


def snapshot(account_id: str | None = None) -> Call[m.Snapshot]:
    """Account figures, positions and orders in one answer."""
    return Call("GET", "/api/v1/snapshot", m.Snapshot, params={"account_id": account_id})


def positions(
    account_id: str | None = None, *, symbol: str | None = None, ticket: int | None = None
) -> Call[m.PositionsResponse]:
    params = {"account_id": account_id, "symbol": symbol, "ticket": ticket}
    return Call("GET", "/api/v1/positions", m.PositionsResponse, params=params)


def orders(
    account_id: str | None = None, *, symbol: str | None = None, ticket: int | None = None
) -> Call[m.OrdersResponse]:
    """Pending orders."""
    params = {"account_id": account_id, "symbol": symbol, "ticket": ticket}
    return Call("GET", "/api/v1/orders", m.OrdersResponse, params=params)


# -- market data ---------------------------------------------------------------------------------


def symbols(group: str | None = None, *, account_id: str | None = None) -> Call[m.SymbolsResponse]:
    params = {"group": group, "account_id": account_id}
    return Call("GET", "/api/v1/symbols", m.SymbolsResponse, params=params)


def symbol(name: str, *, account_id: str | None = None) -> Call[m.SymbolResponse]:
    """The full specification of one symbol."""
    path = f"/api/v1/symbols/{name}"
    return Call("GET", path, m.SymbolResponse, params={"account_id": account_id})


def tick(name: str, *, account_id: str | None = None) -> Call[m.TickResponse]:
    path = f"/api/v1/symbols/{name}/tick"
    return Call("GET", path, m.TickResponse, params={"account_id": account_id})


def market_data(
    name: str, timeframe: Timeframe = "H1", bars: int = 100, *, account_id: str | None = None
) -> Call[m.MarketDataResponse]:
    """The latest ``bars`` bars (the forming one last)."""
    params = {"timeframe": timeframe, "bars": bars, "account_id": account_id}
    return Call("GET", f"/api/v1/market-data/{name}", m.MarketDataResponse, params=params)


def market_data_range(
    name: str,
    timeframe: Timeframe = "H1",
    start_date: When = None,
    end_date: When = None,
    *,
    account_id: str | None = None,
) -> Call[m.RangeResponse]:
    params = {
        "timeframe": timeframe,
        "start_date": start_date,
        "end_date": end_date,
        "account_id": account_id,
    }
    return Call("GET", f"/api/v1/market-data/{name}/range", m.RangeResponse, params=params)


def server_time(account_id: str | None = None) -> Call[m.ServerTime]:
    return Call("GET", "/api/v1/server-time", m.ServerTime, params={"account_id": account_id})


# -- trading (every call here carries an Idempotency-Key) ----------------------------------------


def place_trade(
    symbol: str,
    order_type: Literal["buy", "sell"],
    volume: float,
    *,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    price: float | None = None,
    deviation: int | None = None,
    comment: str | None = None,
    magic: int | None = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.TradeResult]:
    """A market order. ``idempotency_key``: your own key (default: a new one per call)."""
    body = _body(
        symbol=symbol,
        order_type=order_type,
        volume=volume,
        stop_loss=stop_loss,
        take_profit=take_profit,
        price=price,
        deviation=deviation,
        comment=comment,
        magic=magic,
    )
    return Call(
        "POST",
        "/api/v1/trades",
        m.TradeResult,
        "trade",
        params={"account_id": account_id},
        json=body,
        idempotency_key=idempotency_key,
    )


def place_order(
    symbol: str,
    order_type: Literal[
        "buy_limit", "sell_limit", "buy_stop", "sell_stop", "buy_stop_limit", "sell_stop_limit"
    ],
    volume: float,
    price: float,
    *,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    stoplimit: float | None = None,
    expiration: str | None = None,
    expiration_time: When = None,
    comment: str | None = None,
    magic: int | None = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.TradeResult]:
    """A pending order."""
    body = _body(
        symbol=symbol,
        order_type=order_type,
        volume=volume,
        price=price,
        stop_loss=stop_loss,
        take_profit=take_profit,
        stoplimit=stoplimit,
        expiration=expiration,
        expiration_time=expiration_time,
        comment=comment,
        magic=magic,
    )
    return Call(
        "POST",
        "/api/v1/orders",
        m.TradeResult,
        "trade",
        params={"account_id": account_id},
        json=body,
        idempotency_key=idempotency_key,
    )


def modify_position(
    ticket: int,
    *,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.TradeResult]:
    """Change SL/TP of a position (0 removes one)."""
    return Call(
        "PATCH",
        f"/api/v1/positions/{ticket}",
        m.TradeResult,
        "trade",
        params={"account_id": account_id},
        json=_body(stop_loss=stop_loss, take_profit=take_profit),
        idempotency_key=idempotency_key,
    )


def close_position(
    ticket: int,
    *,
    volume: float | None = None,
    deviation: int | None = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.TradeResult]:
    """Close a position, or part of it with ``volume``."""
    return Call(
        "DELETE",
        f"/api/v1/positions/{ticket}",
        m.TradeResult,
        "trade",
        params={"volume": volume, "deviation": deviation, "account_id": account_id},
        idempotency_key=idempotency_key,
    )


def modify_order(
    ticket: int,
    *,
    price: float | None = None,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    stoplimit: float | None = None,
    expiration: str | None = None,
    expiration_time: When = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.TradeResult]:
    body = _body(
        price=price,
        stop_loss=stop_loss,
        take_profit=take_profit,
        stoplimit=stoplimit,
        expiration=expiration,
        expiration_time=expiration_time,
    )
    return Call(
        "PATCH",
        f"/api/v1/orders/{ticket}",
        m.TradeResult,
        "trade",
        params={"account_id": account_id},
        json=body,
        idempotency_key=idempotency_key,
    )


def cancel_order(
    ticket: int, *, account_id: str | None = None, idempotency_key: str | None = None
) -> Call[m.TradeResult]:
    return Call(
        "DELETE",
        f"/api/v1/orders/{ticket}",
        m.TradeResult,
        "trade",
        params={"account_id": account_id},
        idempotency_key=idempotency_key,
    )


def close_all(
    *,
    symbol: str | None = None,
    account_id: str | None = None,
    idempotency_key: str | None = None,
) -> Call[m.CloseAllResult]:
    return Call(
        "POST",
        "/api/v1/positions/close-all",
        m.CloseAllResult,
        "trade",
        params={"account_id": account_id},
        json=_body(symbol=symbol),
        idempotency_key=idempotency_key,
    )


def check_trade(
    symbol: str,
    order_type: str,
    volume: float,
    *,
    price: float | None = None,
    stop_loss: float | None = None,
    take_profit: float | None = None,
    account_id: str | None = None,
) -> Call[m.CheckResult]:
    """``order_check``: would it pass, and the margin it needs. Nothing is sent."""
    body = _body(
        symbol=symbol,
        order_type=order_type,
        volume=volume,
        price=price,
        stop_loss=stop_loss,
        take_profit=take_profit,
    )
    params = {"account_id": account_id}
    return Call("POST", "/api/v1/trades/check", m.CheckResult, params=params, json=body)


def trade_request(request_id: str) -> Call[m.TradeRequestState]:
    """The state of a trade call by its ``request_id`` (settles an unknown outcome)."""
    return Call("GET", f"/api/v1/trades/requests/{request_id}", m.TradeRequestState)


# -- history, audit, events, admin ---------------------------------------------------------------


def history_deals(
    start_date: When = None,
    end_date: When = None,
    *,
    position: int | None = None,
    account_id: str | None = None,
) -> Call[m.DealsResponse]:
    params = {
        "start_date": start_date,
        "end_date": end_date,
        "position": position,
        "account_id": account_id,
    }
    return Call("GET", "/api/v1/history/deals", m.DealsResponse, params=params)


def history_orders(
    start_date: When = None,
    end_date: When = None,
    *,
    position: int | None = None,
    account_id: str | None = None,
) -> Call[m.OrdersResponse]:
    params = {
        "start_date": start_date,
        "end_date": end_date,
        "position": position,
        "account_id": account_id,
    }
    return Call("GET", "/api/v1/history/orders", m.OrdersResponse, params=params)


def audit(
    *,
    limit: int | None = None,
    before_id: int | None = None,
    account_id: str | None = None,
    action: str | None = None,
    all_users: bool | None = None,
) -> Call[m.AuditPage]:
    params = {
        "limit": limit,
        "before_id": before_id,
        "account_id": account_id,
        "action": action,
        "all_users": all_users,
    }
    return Call("GET", "/api/v1/audit", m.AuditPage, params=params)


def events(
    account_id: str | None = None, *, after: int = 0, limit: int | None = None
) -> Call[m.EventsPage]:
    """Account events after ``after`` (the stream's events, for clients without a socket)."""
    params = {"account_id": account_id, "after": after, "limit": limit}
    return Call("GET", "/api/v1/events", m.EventsPage, params=params)


def admin_pool() -> Call[m.AdminPool]:
    """Terminals and the scheduler (admins only)."""
    return Call("GET", "/api/v1/admin/pool", m.AdminPool)
