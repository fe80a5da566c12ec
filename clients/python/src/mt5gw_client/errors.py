"""Typed exceptions, one class per error ``code`` the gateway answers.

Every gateway error is JSON ``{"detail", "code"}`` (plus ``retcode``, ``retryable``,
``request_id``... where they apply). :func:`error_from_response` turns one into the class
registered for its ``code``; a code this client does not know yet falls back to the class of its
HTTP status (``NotFound``, ``Conflict``...), so ``except NotFound`` keeps working when the
gateway adds a new 404 code.

``retryable`` follows the gateway's retcode table: True means *the same order may succeed if
you send it again* (a new call, so a new ``Idempotency-Key``: a new order). The client never
does that on its own; it only re-sends with the *same* key, which can never make a second order.

This module holds the classes of the gateway's own codes and gathers the rest: the mechanism
and the classes per HTTP status (:mod:`.http_errors`) and those of MT5 trade return codes
(:mod:`.trade_errors`). Import every error from here.
"""

from __future__ import annotations

# Re-exported: import every error from this module.
from .http_errors import ApiError as ApiError
from .http_errors import BadGateway as BadGateway
from .http_errors import BadRequest as BadRequest
from .http_errors import Conflict as Conflict
from .http_errors import ConnectionFailed as ConnectionFailed
from .http_errors import Forbidden as Forbidden
from .http_errors import GatewayTimeout as GatewayTimeout
from .http_errors import MethodNotAllowed as MethodNotAllowed
from .http_errors import MT5GatewayError as MT5GatewayError
from .http_errors import NotFound as NotFound
from .http_errors import ServerError as ServerError
from .http_errors import TooManyRequests as TooManyRequests
from .http_errors import Unauthorized as Unauthorized
from .http_errors import Unavailable as Unavailable
from .http_errors import Unprocessable as Unprocessable
from .http_errors import error_from_response as error_from_response
from .http_errors import retry_after as retry_after
from .trade_errors import NOT_RETRYABLE_CODES as NOT_RETRYABLE_CODES
from .trade_errors import ActivationRejected as ActivationRejected
from .trade_errors import AlgoDisabledByServer as AlgoDisabledByServer
from .trade_errors import AlgoDisabledByTerminal as AlgoDisabledByTerminal
from .trade_errors import BrokerTimeout as BrokerTimeout
from .trade_errors import Canceled as Canceled
from .trade_errors import CloseOnly as CloseOnly
from .trade_errors import CloseOrderExists as CloseOrderExists
from .trade_errors import FifoClose as FifoClose
from .trade_errors import Frozen as Frozen
from .trade_errors import HedgeProhibited as HedgeProhibited
from .trade_errors import InvalidCloseVolume as InvalidCloseVolume
from .trade_errors import InvalidExpiration as InvalidExpiration
from .trade_errors import InvalidFill as InvalidFill
from .trade_errors import InvalidOrder as InvalidOrder
from .trade_errors import InvalidPrice as InvalidPrice
from .trade_errors import InvalidRequest as InvalidRequest
from .trade_errors import InvalidStops as InvalidStops
from .trade_errors import InvalidVolume as InvalidVolume
from .trade_errors import LimitOrders as LimitOrders
from .trade_errors import LimitPositions as LimitPositions
from .trade_errors import LimitVolume as LimitVolume
from .trade_errors import Locked as Locked
from .trade_errors import LongOnly as LongOnly
from .trade_errors import MarketClosed as MarketClosed
from .trade_errors import MT5Rejected as MT5Rejected
from .trade_errors import MT5TradeError as MT5TradeError
from .trade_errors import NoBrokerConnection as NoBrokerConnection
from .trade_errors import NoChanges as NoChanges
from .trade_errors import NoMoney as NoMoney
from .trade_errors import NoQuotes as NoQuotes
from .trade_errors import NotExecuted as NotExecuted
from .trade_errors import OnlyReal as OnlyReal
from .trade_errors import OrderChanged as OrderChanged
from .trade_errors import OutcomeUnknown as OutcomeUnknown
from .trade_errors import PositionClosed as PositionClosed
from .trade_errors import PriceChanged as PriceChanged
from .trade_errors import Rejected as Rejected
from .trade_errors import Requote as Requote
from .trade_errors import ShortOnly as ShortOnly
from .trade_errors import TerminalApiTradingDisabled as TerminalApiTradingDisabled
from .trade_errors import TerminalRefused as TerminalRefused
from .trade_errors import TooManyTradeRequests as TooManyTradeRequests
from .trade_errors import TradeDisabled as TradeDisabled
from .trade_errors import TradeError as TradeError
from .trade_errors import TradeRejected as TradeRejected

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


# -- authentication and API keys -----------------------------------------------------------------


class SessionRevoked(Unauthorized):
    """The gateway session token was logged out."""

    code = "SESSION_REVOKED"


class ApiKeyRevoked(Unauthorized):
    code = "API_KEY_REVOKED"


class ApiKeyExpired(Unauthorized):
    code = "API_KEY_EXPIRED"


class IpRefused(Forbidden):
    """This API key may not be used from the caller's address."""

    code = "IP_REFUSED"


class ScopeRefused(Forbidden):
    """The API key lacks the scope the endpoint needs."""

    code = "SCOPE"


class KeyNotFound(NotFound):
    code = "KEY_NOT_FOUND"


class KeyLimit(Conflict):
    code = "KEY_LIMIT"


class LoginSessionsDisabled(NotFound):
    """MT5-credential sessions are off on this gateway (MT5_LOGIN_SESSIONS)."""

    code = "LOGIN_SESSIONS_DISABLED"


class NotASession(BadRequest):
    code = "NOT_A_SESSION"


# -- accounts ------------------------------------------------------------------------------------


class MT5AuthFailed(AccountError):
    """MT5 refused the login: wrong account number or password."""

    code = "MT5_AUTH_FAILED"


class UnknownServer(AccountError):
    """The broker server is not one the gateway's terminals know (``known_servers``)."""

    code = "UNKNOWN_SERVER"


class MT5LoginFailed(AccountError):
    code = "MT5_LOGIN_FAILED"


class PasswordRequired(AccountError):
    code = "PASSWORD_REQUIRED"


class CredentialsUnreadable(ServerError):
    """The stored MT5 password cannot be decrypted with the gateway's keys."""

    code = "CREDENTIALS_UNREADABLE"


# -- events, webhooks, broadcasts, calculations --------------------------------------------------


class EventsNotRetained(Conflict):
    code = "EVENTS_NOT_RETAINED"


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


class WebhookLimit(Unprocessable):
    code = "WEBHOOK_LIMIT"


class WebhookTargetRefused(Unprocessable):
    code = "WEBHOOK_TARGET_REFUSED"


class BroadcastNotFound(NotFound):
    code = "BROADCAST_NOT_FOUND"


class UnsupportedSwapMode(Unprocessable):
    code = "UNSUPPORTED_SWAP_MODE"


# -- the gateway itself --------------------------------------------------------------------------


class Internal(ServerError):
    code = "INTERNAL"


class DatabaseError(ServerError):
    code = "DATABASE_ERROR"


class Forwarded(Unavailable):
    """The request belongs to another gateway replica that could not be reached."""

    code = "FORWARDED"
