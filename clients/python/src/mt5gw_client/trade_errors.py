"""One exception class per MT5 trade return code the gateway answers (its retcode table,
gateway/trading/retcodes.py, as the README shows it): all are :class:`TradeRejected` and the
class of their HTTP status. ``retryable`` on the exception is the gateway's word for each.
"""

from __future__ import annotations

from .http_errors import (
    ApiError,
    BadGateway,
    Conflict,
    Forbidden,
    GatewayTimeout,
    TooManyRequests,
    Unavailable,
    Unprocessable,
)

# -- trade return codes (the README's retcode table) ---------------------------------------------


class TradeRejected(ApiError):
    """MT5 answered the order with a return code other than success (``retcode``)."""


class Requote(TradeRejected, Conflict):
    code = "REQUOTE"


class PriceChanged(TradeRejected, Conflict):
    code = "PRICE_CHANGED"


class NoQuotes(TradeRejected, Conflict):
    code = "NO_QUOTES"


class MarketClosed(TradeRejected, Conflict):
    code = "MARKET_CLOSED"


class OrderChanged(TradeRejected, Conflict):
    code = "ORDER_CHANGED"


class Locked(TradeRejected, Conflict):
    code = "LOCKED"


class Frozen(TradeRejected, Conflict):
    code = "FROZEN"


class PositionClosed(TradeRejected, Conflict):
    code = "POSITION_CLOSED"


class CloseOrderExists(TradeRejected, Conflict):
    code = "CLOSE_ORDER_EXISTS"


class FifoClose(TradeRejected, Conflict):
    code = "FIFO_CLOSE"


class NoChanges(TradeRejected, Conflict):
    code = "NO_CHANGES"


class InvalidRequest(TradeRejected, Unprocessable):
    code = "INVALID_REQUEST"


class InvalidVolume(TradeRejected, Unprocessable):
    code = "INVALID_VOLUME"


class InvalidPrice(TradeRejected, Unprocessable):
    code = "INVALID_PRICE"


class InvalidStops(TradeRejected, Unprocessable):
    code = "INVALID_STOPS"


class NoMoney(TradeRejected, Unprocessable):
    code = "NO_MONEY"


class InvalidExpiration(TradeRejected, Unprocessable):
    code = "INVALID_EXPIRATION"


class InvalidFill(TradeRejected, Unprocessable):
    code = "INVALID_FILL"


class LimitOrders(TradeRejected, Unprocessable):
    code = "LIMIT_ORDERS"


class LimitVolume(TradeRejected, Unprocessable):
    code = "LIMIT_VOLUME"


class InvalidOrder(TradeRejected, Unprocessable):
    code = "INVALID_ORDER"


class InvalidCloseVolume(TradeRejected, Unprocessable):
    code = "INVALID_CLOSE_VOLUME"


class LimitPositions(TradeRejected, Unprocessable):
    code = "LIMIT_POSITIONS"


class LongOnly(TradeRejected, Unprocessable):
    code = "LONG_ONLY"


class ShortOnly(TradeRejected, Unprocessable):
    code = "SHORT_ONLY"


class CloseOnly(TradeRejected, Unprocessable):
    code = "CLOSE_ONLY"


class HedgeProhibited(TradeRejected, Unprocessable):
    code = "HEDGE_PROHIBITED"


class TradeDisabled(TradeRejected, Forbidden):
    code = "TRADE_DISABLED"


class AlgoDisabledByServer(TradeRejected, Forbidden):
    code = "ALGO_DISABLED_BY_SERVER"


class AlgoDisabledByTerminal(TradeRejected, Forbidden):
    code = "ALGO_DISABLED_BY_TERMINAL"


class OnlyReal(TradeRejected, Forbidden):
    code = "ONLY_REAL"


class Rejected(TradeRejected, BadGateway):
    code = "REJECTED"


class Canceled(TradeRejected, BadGateway):
    code = "CANCELED"


class MT5TradeError(TradeRejected, BadGateway):
    code = "MT5_TRADE_ERROR"


class ActivationRejected(TradeRejected, BadGateway):
    code = "ACTIVATION_REJECTED"


class MT5Rejected(TradeRejected, BadGateway):
    code = "MT5_REJECTED"


class BrokerTimeout(TradeRejected, GatewayTimeout):
    code = "BROKER_TIMEOUT"


class TooManyTradeRequests(TradeRejected, TooManyRequests):
    code = "TOO_MANY_REQUESTS"


class NoBrokerConnection(TradeRejected, Unavailable):
    code = "NO_BROKER_CONNECTION"


class NotExecuted(TradeRejected, Unavailable):
    """The send failed and the gateway proved that no order exists."""

    code = "NOT_EXECUTED"


class OutcomeUnknown(GatewayTimeout):
    """The order may or may not have executed and the gateway could not settle it in time.

    The client keeps asking with the same key until the gateway knows (``settle_timeout_s``);
    this is raised only when it still does not: poll ``trade_request(request_id)``."""

    code = "OUTCOME_UNKNOWN"


# Codes the gateway marks "not retryable" although their HTTP status is 503/504: the client
# never re-sends these (OUTCOME_UNKNOWN is settled by asking again with the same key instead).
NOT_RETRYABLE_CODES = frozenset({"OUTCOME_UNKNOWN"})


# -- refusals around a send that are not trade return codes --------------------------------------


class TradeError(Unprocessable):
    """A trade request the gateway refused (the base of its trade refusals)."""

    code = "TRADE_ERROR"


class TerminalApiTradingDisabled(Forbidden):
    """The terminal disables trading through the Python API; the broker saw nothing."""

    code = "TERMINAL_API_TRADING_DISABLED"


class TerminalRefused(BadGateway):
    """The terminal refused the request before the broker saw it (``mt5_error`` says why)."""

    code = "TERMINAL_REFUSED"
