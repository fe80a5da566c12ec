"""Account reads: one terminal round trip each."""

from __future__ import annotations

import time
from typing import Any

from gateway import mt5enums as e
from gateway.account.schemas import AccountInfo, Balance, Equity, Snapshot
from gateway.schemas import basis_fields
from gateway.terminal.port import Record, TerminalPort
from gateway.terminal.servertime import ServerClocks
from gateway.trading.service import order_out, position_out


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
