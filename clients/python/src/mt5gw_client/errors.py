"""Typed exceptions, one class per error ``code`` the gateway answers.

Every gateway error is JSON ``{"detail", "code"}`` (plus ``retcode``, ``retryable``,
``request_id``... where they apply). :func:`error_from_response` turns one into the class
registered for its ``code``; a code this client does not know yet falls back to the class of its
HTTP status (``NotFound``, ``Conflict``...), so ``except NotFound`` keeps working when the
gateway adds a new 404 code.

``retryable`` follows the gateway's retcode table: True means *the same order may succeed if
you send it again* (a new call, so a new ``Idempotency-Key``: a new order). The client never
does that on its own; it only re-sends with the *same* key, which can never make a second order.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx


class MT5GatewayError(Exception):
    """Base of every error this client raises."""


class ConnectionFailed(MT5GatewayError):
    """The gateway could not be reached (after the retries the policy allows).

    For a trade call, ``idempotency_key`` is the key every attempt carried: send the same call
    again with ``idempotency_key=`` set to it to learn the outcome without a second order."""

    def __init__(self, message: str, *, idempotency_key: str | None = None) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key


class ApiError(MT5GatewayError):
    """An error answer of the gateway: ``status``, ``code``, ``detail`` and the whole ``body``."""

    status: ClassVar[int] = 0  # the HTTP status this class stands for (0: any)
    code: str = ""
    _by_code: ClassVar[dict[str, type[ApiError]]] = {}
    _by_status: ClassVar[dict[int, type[ApiError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code:
            ApiError._by_code[code] = cls
        elif cls.__dict__.get("status"):
            ApiError._by_status[cls.status] = cls

    def __init__(
        self,
        http_status: int,
        body: dict[str, Any],
        *,
        request_id: str | None = None,
        retry_after_s: float | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.body = body
        self.code = str(body.get("code") or type(self).code or "")
        self.detail = str(body.get("detail") or f"HTTP {http_status}")
        self.retcode: int | None = body.get("retcode")
        self.retryable: bool = bool(body.get("retryable", False))
        self.request_id = request_id or body.get("request_id")
        self.retry_after_s = retry_after_s
        self.idempotency_key = idempotency_key
        super().__init__(f"{http_status} {self.code}: {self.detail}")


def error_from_response(
    response: httpx.Response, *, idempotency_key: str | None = None
) -> ApiError:
    """The typed exception for an error response."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:500] or response.reason_phrase, "code": ""}
    code = str(body.get("code") or "")
    cls = ApiError._by_code.get(code)
    if cls is None:
        cls = ApiError._by_status.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else ApiError
    return cls(
        response.status_code,
        body,
        request_id=response.headers.get("x-request-id"),
        retry_after_s=retry_after(response),
        idempotency_key=idempotency_key,
    )


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the gateway sends seconds; an HTTP date is honoured too)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import datetime, timezone

    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


# -- by HTTP status ------------------------------------------------------------------------------


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class TooManyRequests(ApiError):
    status = 429


class ServerError(ApiError):
    status = 500


class BadGateway(ServerError):
    status = 502


class Unavailable(ServerError):
    status = 503


class GatewayTimeout(ServerError):
    status = 504


# -- gateway codes -------------------------------------------------------------------------------


class ValidationError(Unprocessable):
    code = "VALIDATION_ERROR"


class AccountError(BadRequest):
    code = "ACCOUNT_ERROR"


class AuthUnavailable(Unavailable):
    code = "AUTH_UNAVAILABLE"


class SymbolNotFound(NotFound):
    code = "SYMBOL_NOT_FOUND"


class NoData(NotFound):
    code = "NO_DATA"


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"


class NoAccount(NotFound):
    code = "NO_ACCOUNT"


class PositionNotFound(NotFound):
    code = "POSITION_NOT_FOUND"


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


class TradeRequestNotFound(NotFound):
    code = "TRADE_REQUEST_NOT_FOUND"


class AccountExists(Conflict):
    code = "ACCOUNT_EXISTS"


class IdempotencyInProgress(Conflict):
    """A call with this key is still running (the client waits and asks again)."""

    code = "IDEMPOTENCY_IN_PROGRESS"


class IdempotencyKeyReused(Unprocessable):
    """The same key was sent with another body."""

    code = "IDEMPOTENCY_KEY_REUSED"


class RiskLimit(Unprocessable):
    code = "RISK_LIMIT"


class TradeRule(Unprocessable):
    """The order breaks a rule of the symbol (volume step, stops distance...) before MT5."""

    code = "TRADE_RULE"


class InvestorReadOnly(Forbidden):
    code = "INVESTOR_READ_ONLY"


class AccountLoginFailed(BadGateway):
    code = "ACCOUNT_LOGIN_FAILED"


class UserBusy(TooManyRequests):
    code = "USER_BUSY"


class LoginThrottled(TooManyRequests):
    code = "LOGIN_THROTTLED"


class TerminalUnavailable(Unavailable):
    code = "TERMINAL_UNAVAILABLE"


class PoolBusy(Unavailable):
    code = "POOL_BUSY"


class NoTerminalForServer(Unavailable):
    code = "NO_TERMINAL_FOR_SERVER"


class DatabaseUnavailable(Unavailable):
    code = "DATABASE_UNAVAILABLE"


class TerminalTimeout(GatewayTimeout):
    code = "TERMINAL_TIMEOUT"


class MT5Error(BadGateway):
    code = "MT5_ERROR"


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
