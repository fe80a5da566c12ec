"""Every endpoint as a :class:`Call`: the HTTP request, its retry kind and its answer's model.

The sync :class:`~mt5gw_client.Client` and the async :class:`~mt5gw_client.AsyncClient` expose
each function here as a method of the same name and arguments (``client.place_trade(...)``),
answering the parsed model. Times may be ``datetime`` (sent as ISO-8601) or epoch seconds.
``account_id`` addresses one of your accounts explicitly (default: your default account).

The reads are here; the trading calls (each with an ``Idempotency-Key``) are in
:mod:`.trade_calls` and re-exported here, so ``calls.place_trade`` is one of them too.
"""

from __future__ import annotations

from . import models as m
from .trade_calls import cancel_order as cancel_order
from .trade_calls import check_trade as check_trade
from .trade_calls import close_all as close_all
from .trade_calls import close_position as close_position
from .trade_calls import modify_order as modify_order
from .trade_calls import modify_position as modify_position
from .trade_calls import place_order as place_order
from .trade_calls import place_trade as place_trade
from .trade_calls import trade_request as trade_request
from .wire import Call as Call
from .wire import Timeframe as Timeframe
from .wire import When as When
from .wire import json_body

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
    body = json_body(login=login, password=password, server=server, label=label)
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
