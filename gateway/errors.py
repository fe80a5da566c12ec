"""Domain errors and the one place that turns any failure into an HTTP answer.

    GatewayError(message, code, status)
     ├── ValidationFailed         422 VALIDATION_ERROR   (bad input caught by a service)
     ├── NotFound                 404 NOT_FOUND
     │    ├── SymbolNotFound      404 SYMBOL_NOT_FOUND
     │    └── NoData              404 NO_DATA
     ├── AuthError                401 UNAUTHORIZED       (+ WWW-Authenticate: Bearer)
     ├── AuthUnavailable          503 AUTH_UNAVAILABLE   (JWKS unreachable; + Retry-After)
     ├── TerminalUnavailable      503 TERMINAL_UNAVAILABLE (+ Retry-After)
     ├── TerminalTimeoutError     504 TERMINAL_TIMEOUT
     ├── TerminalFailed           502 MT5_ERROR          (MT5 gave an error we cannot classify)
     ├── AccountNotFound          404 ACCOUNT_NOT_FOUND  (unknown or another user's account id)
     ├── NoAccount                404 NO_ACCOUNT         (the caller has no account at all)
     ├── AccountError             400 ACCOUNT_ERROR      (+ MT5_AUTH_FAILED, UNKNOWN_SERVER, ...)
     ├── AccountExists            409 ACCOUNT_EXISTS     (the same login added concurrently)
     ├── Forbidden                403 FORBIDDEN          (e.g. an admin endpoint, not an admin)
     ├── LoginThrottled           429 LOGIN_THROTTLED    (+ Retry-After; too many bad logins)
     ├── DatabaseUnavailable      503 DATABASE_UNAVAILABLE (+ Retry-After; store unreachable)
     └── PoolBusyError            503 POOL_BUSY          (+ Retry-After; the pool's PoolBusy)

Anything else that escapes an endpoint (a bug, a database error) is caught by
:class:`UnhandledErrors`: it logs the error's type, the route template and the request id, never
the exception text (a database error's text holds SQL parameters: user ids, ciphertext), and
answers 500 ``INTERNAL``/``DATABASE_ERROR`` or 503 ``DATABASE_UNAVAILABLE``. The exception stops
there, so uvicorn never prints its traceback.

Terminal port errors (``gateway.terminal.errors``) are mapped here too, so services only catch
what they can give a better meaning (e.g. symbol_info failing → SymbolNotFound). Every body is
``{"detail": str, "code": str}`` plus ``retcode``/``mt5_error`` when MT5 gave one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import InterfaceError as DbInterfaceError
from sqlalchemy.exc import OperationalError as DbOperationalError
from sqlalchemy.exc import TimeoutError as DbPoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import route_template
from gateway.terminal.errors import MT5Error, TerminalError, TerminalTimeout, TerminalUnreachable
from gateway.terminal.pool import NoTerminalForServer, PoolBusy, PoolError, UserBusy

log = logging.getLogger("gateway.errors")

RETRY_AFTER_S = 5
NO_HEALTHY_TERMINAL = "no healthy terminal"  # the pool's PoolBusy reason when all are down
_IPC_CODES = range(-10005, -9999)  # -10000..-10005: the terminal process itself is unreachable


class MT5ErrorInfo(BaseModel):
    """``last_error()`` as MetaTrader5 reported it."""

    code: int
    message: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    detail: str
    code: str
    retcode: int | None = None
    mt5_error: MT5ErrorInfo | None = None
    errors: list[FieldError] | None = None
    known_servers: list[str] | None = None


class GatewayError(Exception):
    status = 500
    code = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retcode: int | None = None,
        mt5_error: tuple[int, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.retcode = retcode
        self.mt5_error = mt5_error
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.retcode is not None:
            out["retcode"] = self.retcode
        if self.mt5_error is not None:
            out["mt5_error"] = {"code": self.mt5_error[0], "message": self.mt5_error[1]}
        return out


class ValidationFailed(GatewayError):
    status, code = 422, "VALIDATION_ERROR"


class NotFound(GatewayError):
    status, code = 404, "NOT_FOUND"


class SymbolNotFound(NotFound):
    code = "SYMBOL_NOT_FOUND"

    def __init__(self, symbol: str, **kwargs: Any) -> None:
        super().__init__(f"Symbol {symbol} not found", **kwargs)


class NoData(NotFound):
    code = "NO_DATA"


class AuthError(GatewayError):
    status, code = 401, "UNAUTHORIZED"

    def __init__(self, message: str = "Invalid token", **kwargs: Any) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"}, **kwargs)


class AuthUnavailable(GatewayError):
    status, code = 503, "AUTH_UNAVAILABLE"

    def __init__(self, message: str = "Token verification keys unavailable", **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_S)}, **kw)


class TerminalUnavailable(GatewayError):
    status, code = 503, "TERMINAL_UNAVAILABLE"

    def __init__(
        self,
        message: str = "MT5 terminal not available",
        retry_after_s: int = RETRY_AFTER_S,
        **kw: Any,
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)}, **kw)


class TerminalTimeoutError(GatewayError):
    status, code = 504, "TERMINAL_TIMEOUT"


class TerminalFailed(GatewayError):
    status, code = 502, "MT5_ERROR"


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"

    def __init__(self, message: str = "Account not found", **kw: Any) -> None:
        super().__init__(message, **kw)


class NoAccount(NotFound):
    code = "NO_ACCOUNT"

    def __init__(self, message: str = "No MT5 account connected", **kw: Any) -> None:
        super().__init__(message, **kw)


class AccountError(GatewayError):
    """A client mistake about an account; ``extra`` joins the body (e.g. ``known_servers``)."""

    status, code = 400, "ACCOUNT_ERROR"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {**super().body(), **self.extra}


class AccountExists(AccountError):
    status, code = 409, "ACCOUNT_EXISTS"


class Forbidden(GatewayError):
    status, code = 403, "FORBIDDEN"


class LoginThrottled(GatewayError):
    """Too many failed credential attempts by this caller or on this login (``Retry-After``)."""

    status, code = 429, "LOGIN_THROTTLED"

    def __init__(self, retry_after_s: int, **kw: Any) -> None:
        super().__init__(
            f"Too many failed login attempts; try again in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
            **kw,
        )


class DatabaseUnavailable(GatewayError):
    status, code = 503, "DATABASE_UNAVAILABLE"

    def __init__(self, message: str = "The gateway's database is unavailable", **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_S)}, **kw)


class PoolBusyError(GatewayError):
    status, code = 503, "POOL_BUSY"

    def __init__(self, message: str, retry_after_s: int, **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)}, **kw)


class UserBusyError(PoolBusyError):
    """The caller already has their share of the terminal pool's work in progress."""

    status, code = 429, "USER_BUSY"


def from_pool_error(exc: PoolError) -> GatewayError:
    """Classify a terminal pool refusal: 429 for a user over their share, else 503, each with
    Retry-After."""
    if isinstance(exc, UserBusy):
        return UserBusyError(
            f"You already have {exc.limit} MT5 requests in progress; "
            "retry when one of them has finished",
            exc.retry_after_s,
        )
    if isinstance(exc, PoolBusy) and exc.reason == NO_HEALTHY_TERMINAL:
        return TerminalUnavailable("No MT5 terminal reachable", exc.retry_after_s)
    if isinstance(exc, PoolBusy):
        return PoolBusyError(f"All MT5 terminals are busy ({exc.reason})", exc.retry_after_s)
    if isinstance(exc, NoTerminalForServer):
        return TerminalUnavailable(
            f"No MT5 terminal is logged into server {exc.server}", code="NO_TERMINAL_FOR_SERVER"
        )
    return TerminalUnavailable("MT5 terminal pool is shutting down")


def from_terminal_error(exc: TerminalError) -> GatewayError:
    """Classify a terminal port failure."""
    if isinstance(exc, TerminalTimeout):
        return TerminalTimeoutError("MT5 terminal did not answer in time")
    if isinstance(exc, TerminalUnreachable):
        return TerminalUnavailable("MT5 terminal not reachable")
    if isinstance(exc, MT5Error):
        info = (exc.code, exc.mt5_message)
        if exc.code in _IPC_CODES:
            return TerminalUnavailable("MT5 terminal not connected", mt5_error=info)
        return TerminalFailed(f"MT5 {exc.function} failed: {exc.mt5_message}", mt5_error=info)
    return TerminalUnavailable("MT5 terminal error")


def _respond(error: GatewayError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _respond(exc)


async def _terminal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TerminalError | PoolError)
    error = from_pool_error(exc) if isinstance(exc, PoolError) else from_terminal_error(exc)
    log.warning("%s %s: %s (%s)", request.method, request.url.path, error.code, type(exc).__name__)
    return _respond(error)


def _summarize(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body" or len(err["loc"]) == 1)
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "Invalid request"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    fields = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in errors
    ]
    body = {"detail": _summarize(errors), "code": "VALIDATION_ERROR", "errors": fields}
    return JSONResponse(body, status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHORIZED"}.get(
        exc.status_code, f"HTTP_{exc.status_code}"
    )
    body = {"detail": str(exc.detail), "code": code}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


_DB_DOWN = (DbOperationalError, DbInterfaceError, DisconnectionError, DbPoolTimeout, OSError)


def unexpected(exc: Exception) -> GatewayError:
    """What to answer for an exception no handler took."""
    if isinstance(exc, _DB_DOWN) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return DatabaseUnavailable()
    if isinstance(exc, SQLAlchemyError):
        return GatewayError("Database error", code="DATABASE_ERROR")
    return GatewayError("Internal error")


def _describe(exc: Exception) -> dict[str, str]:
    """Type names only: the exception's text may quote SQL parameters or request data."""
    out = {"error_type": type(exc).__name__}
    orig = getattr(exc, "orig", None)
    if orig is not None:
        out["db_error"] = type(orig).__name__
    return out


class UnhandledErrors:
    """Catches what no exception handler took (plain ASGI, inside the request log).

    Starlette's own last-resort handler re-raises after answering, so uvicorn logs the
    traceback with the exception's text; this one answers and stops."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_send(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception as exc:
            error = unexpected(exc)
            route = route_template(scope)
            log.error(
                "unhandled %s on %s %s",
                type(exc).__name__,
                scope.get("method", "WEBSOCKET"),
                route,
                extra={**_describe(exc), "route": route, "code": error.code},
            )
            if started:
                return
            if scope["type"] == "http":
                await _respond(error)(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1011})


def install_error_handlers(app: FastAPI) -> None:
    """The handlers of known errors; :class:`UnhandledErrors` is added by ``create_app``."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(TerminalError, _terminal_error)
    app.add_exception_handler(PoolError, _terminal_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    404: {"model": ErrorResponse, "description": "Unknown account or symbol, or no data"},
    422: {"model": ErrorResponse, "description": "Invalid parameters"},
    429: {
        "model": ErrorResponse,
        "description": "Your share of the terminal pool is in use (Retry-After)",
    },
    502: {"model": ErrorResponse, "description": "MT5 reported an error"},
    503: {
        "model": ErrorResponse,
        "description": "Terminal pool busy, terminal or key set unavailable (Retry-After)",
    },
    504: {"model": ErrorResponse, "description": "Terminal did not answer in time"},
}
