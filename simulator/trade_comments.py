"""Trade server comments for retcodes the terminal answers itself (e.g. a refused send).

The broker's own wording is in ``simulator/trading_rules.COMMENTS``; this table adds the
standard texts for the retcodes it lacks.
"""

from __future__ import annotations

from simulator.trading_rules import COMMENTS

# Standard comments for retcodes the broker's table (trading_rules.COMMENTS) lacks.
_MORE_COMMENTS: dict[int, str] = {
    10004: "Requote",
    10006: "Request rejected",
    10007: "Request canceled by trader",
    10008: "Order placed",
    10009: "Request executed",
    10010: "Request executed partially",
    10011: "Request processing error",
    10012: "Request canceled by timeout",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10020: "Prices changed",
    10021: "No prices",
    10022: "Invalid expiration",
    10023: "Order state changed",
    10024: "Too frequent requests",
    10025: "No changes",
    10026: "AutoTrading disabled by server",
    10027: "AutoTrading disabled by client",
    10028: "Request locked",
    10029: "Order or position frozen",
    10030: "Unsupported filling mode",
    10031: "No connection with the trade server",
    10032: "Operation is allowed only for live accounts",
    10033: "Limit of pending orders reached",
    10034: "Volume limit reached",
    10035: "Invalid order type",
    10036: "Position already closed",
    10038: "Invalid close volume",
    10039: "Close order already exists",
    10040: "Limit of positions reached",
    10041: "Pending order activation rejected",
    10042: "Only long positions allowed",
    10043: "Only short positions allowed",
    10044: "Only position closing allowed",
    10045: "FIFO close rule",
}


def trade_comment(retcode: int) -> str:
    """The trade server's comment for ``retcode`` (the broker's wording where it has one)."""
    return COMMENTS.get(retcode) or _MORE_COMMENTS.get(retcode, "Request rejected")
