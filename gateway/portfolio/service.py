"""Reads of what an account holds now: its figures, open positions and pending orders, one
terminal round trip each, with times moved to UTC (the account's broker server is known from
the request, so its time basis costs no round trip once detected or configured)."""

from __future__ import annotations

import time
from typing import Any

from gateway import mt5enums as e
from gateway.portfolio.schemas import (
    AccountInfo,
    Balance,
    Equity,
    Order,
    OrdersResponse,
    Position,
    PositionsResponse,
    Snapshot,
)
from gateway.schemas import basis_fields
from gateway.terminal.port import Record, TerminalPort
from gateway.terminal.servertime import ServerClocks, TimeBasis


def utc(basis: TimeBasis, server_s: int) -> int:
    """A server-time epoch in UTC; 0 (MT5's "not set") stays 0."""
    return basis.to_utc(server_s) if server_s else 0


def position_out(p: Record, basis: TimeBasis) -> Position:
    return Position(
        ticket=p["ticket"],
        symbol=p["symbol"],
        type=e.name(e.POSITION_TYPES, p["type"]),
        volume=p["volume"],
        price_open=p["price_open"],
        price_current=p["price_current"],
        profit=p["profit"],
        swap=p["swap"],
        time_open=utc(basis, p["time"]),
        comment=p["comment"],
        sl=p["sl"],
        tp=p["tp"],
        magic=p["magic"],
        identifier=p["identifier"],
        time_update=utc(basis, p["time_update"]),
        reason=e.name(e.ORDER_REASONS, p["reason"]),
        external_id=p["external_id"],
    )


def order_out(o: Record, basis: TimeBasis) -> Order:
    return Order(
        ticket=o["ticket"],
        symbol=o["symbol"],
        type=e.name(e.ORDER_TYPES, o["type"]),
        state=e.name(e.ORDER_STATES, o["state"]),
        volume_initial=o["volume_initial"],
        volume_current=o["volume_current"],
        price_open=o["price_open"],
        price_current=o["price_current"],
        price_stoplimit=o["price_stoplimit"],
        sl=o["sl"],
        tp=o["tp"],
        time_setup=utc(basis, o["time_setup"]),
        time_done=utc(basis, o["time_done"]),
        time_expiration=utc(basis, o["time_expiration"]),
        type_time=e.name(e.ORDER_TIMES, o["type_time"]),
        type_filling=e.name(e.ORDER_FILLINGS, o["type_filling"]),
        magic=o["magic"],
        position_id=o["position_id"],
        position_by_id=o["position_by_id"],
        reason=e.name(e.ORDER_REASONS, o["reason"]),
        comment=o["comment"],
        external_id=o["external_id"],
    )


def account_out(a: Record) -> AccountInfo:
    fields: dict[str, Any] = {k: a[k] for k in AccountInfo.model_fields if k in a}
    fields.update(
        free_margin=a["margin_free"],
        trade_mode=e.name(e.ACCOUNT_TRADE_MODES, a["trade_mode"]),
        margin_mode=e.name(e.ACCOUNT_MARGIN_MODES, a["margin_mode"]),
        margin_so_mode=e.name(e.ACCOUNT_STOPOUT_MODES, a["margin_so_mode"]),
    )
    return AccountInfo.model_validate(fields)


async def account_info(terminal: TerminalPort) -> AccountInfo:
    return account_out(await terminal.account_info())


async def balance(terminal: TerminalPort) -> Balance:
    a = await terminal.account_info()
    return Balance(
        login=a["login"], balance=a["balance"], credit=a["credit"], currency=a["currency"]
    )


async def equity(terminal: TerminalPort) -> Equity:
    a = await terminal.account_info()
    return Equity(
        login=a["login"],
        equity=a["equity"],
        balance=a["balance"],
        profit=a["profit"],
        margin=a["margin"],
        free_margin=a["margin_free"],
        margin_level=a["margin_level"],
        currency=a["currency"],
    )


async def snapshot(terminal: TerminalPort, clocks: ServerClocks) -> Snapshot:
    account, positions, orders = await terminal.batch(
        [("account_info", (), {}), ("positions_get", (), {}), ("orders_get", (), {})]
    )
    basis = await clocks.basis(terminal, account["server"])
    return Snapshot(
        account=account_out(account),
        positions=[position_out(p, basis) for p in positions],
        orders=[order_out(o, basis) for o in orders],
        timestamp=int(time.time()),
        **basis_fields(basis),
    )


async def positions(
    terminal: TerminalPort,
    clocks: ServerClocks,
    server: str | None = None,
    *,
    symbol: str | None,
    ticket: int | None,
) -> PositionsResponse:
    rows = await terminal.positions_get(symbol=symbol, ticket=ticket)
    if symbol is not None and ticket is not None:  # MT5 lets ticket win; we want both
        rows = [r for r in rows if r["symbol"] == symbol]
    basis = await clocks.basis(terminal, server)
    return PositionsResponse(
        positions=[position_out(r, basis) for r in rows], **basis_fields(basis)
    )


async def orders(
    terminal: TerminalPort,
    clocks: ServerClocks,
    server: str | None = None,
    *,
    symbol: str | None,
    ticket: int | None,
) -> OrdersResponse:
    rows = await terminal.orders_get(symbol=symbol, ticket=ticket)
    if symbol is not None and ticket is not None:
        rows = [r for r in rows if r["symbol"] == symbol]
    basis = await clocks.basis(terminal, server)
    return OrdersResponse(orders=[order_out(r, basis) for r in rows], **basis_fields(basis))
