"""The MetaTrader5 package's pure-Python helpers ``Buy``, ``Sell`` and ``Close``.

Written from their documented behaviour (mt5-api-facts.md §1.2 notes): a TRADE_ACTION_DEAL
with ``deviation=10`` and no ``type_filling`` (so FOK), ``ticket`` sent as ``position``, a
fresh quote and up to 10 attempts on requotes (10004) and missing prices (10021). ``api`` is
anything with the package's ``order_send``, ``symbol_info_tick`` and ``positions_get``.
"""

from __future__ import annotations

from typing import Any

from simulator import constants as c

ATTEMPTS = 10
_RETRY = (c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_PRICE_OFF)


def market_deal(api: Any, order_type: int, symbol: Any, volume: Any, price: Any,
                comment: Any, ticket: Any) -> Any:  # fmt: skip
    """Send a market order; None when a tick or order_send gave None."""
    request: dict[str, Any] = {
        "action": c.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
        "type": order_type, "deviation": 10,
    }  # fmt: skip
    if comment is not None:
        request["comment"] = comment
    if ticket is not None:
        request["position"] = ticket
    if price is not None:
        return api.order_send(request | {"price": price})
    result = None
    for _ in range(ATTEMPTS):
        tick = api.symbol_info_tick(symbol)
        if tick is None:
            return None
        quote = tick.ask if order_type == c.ORDER_TYPE_BUY else tick.bid
        result = api.order_send(request | {"price": quote})
        if result is None or result.retcode not in _RETRY:
            return result
    return result


def close(api: Any, symbol: Any, comment: Any, ticket: Any) -> Any:
    """Close the position ``ticket`` or every position on ``symbol``.

    True when all closed, "Partially" when some did, False when none did (or there was
    nothing to close), None when positions_get, a tick or order_send gave None.
    """
    if ticket is not None:
        positions = api.positions_get(ticket=ticket)
    else:
        positions = api.positions_get(symbol=symbol)
    if positions is None:
        return None
    closed = 0
    for position in positions:
        buy = position.type == c.POSITION_TYPE_BUY
        side = c.ORDER_TYPE_SELL if buy else c.ORDER_TYPE_BUY
        result = market_deal(
            api, side, position.symbol, position.volume, None, comment, position.ticket
        )
        if result is None:
            return None
        closed += result.retcode == c.TRADE_RETCODE_DONE
    if positions and closed == len(positions):
        return True
    return "Partially" if closed else False
