"""The trading calls: every one changes state and carries an ``Idempotency-Key`` (``kind``
``"trade"``), so a retry can never make a second order. Re-exported by :mod:`.calls`."""

from __future__ import annotations

from typing import Literal

from . import models as m
from .wire import Call, When, json_body

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
    body = json_body(
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
    body = json_body(
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
        json=json_body(stop_loss=stop_loss, take_profit=take_profit),
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
    body = json_body(
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
        json=json_body(symbol=symbol),
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
    body = json_body(
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
