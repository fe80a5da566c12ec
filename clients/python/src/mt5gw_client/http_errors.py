"""The error mechanism: the base exceptions, one class per HTTP status, and the mapping from an
error answer to its class.

Every class that sets ``code`` is registered for it (and every class that sets ``status``, for
that status) when it is defined: :func:`error_from_response` picks the class of the answer's
``code``, else the class of its HTTP status (``NotFound``, ``Conflict``...), so ``except
NotFound`` keeps working when the gateway adds a new 404 code. The classes per code live in
:mod:`.errors` (the gateway's own codes) and :mod:`.trade_errors` (MT5 trade return codes);
import them from :mod:`mt5gw_client.errors`.
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
        status = cls.__dict__.get("status")
        if status:
            ApiError._by_status[status] = cls

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
    status, code = 401, "UNAUTHORIZED"


class Forbidden(ApiError):
    status, code = 403, "FORBIDDEN"


class NotFound(ApiError):
    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(ApiError):
    status, code = 405, "METHOD_NOT_ALLOWED"


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
